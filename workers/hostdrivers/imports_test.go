package hostdrivers_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// driverPackages are the import paths of the host drivers (and their
// interfaces): only workers/ may import them. Add each new driver kind here.
var driverPackages = []string{"stratus/workers/virt", "stratus/workers/net", "stratus/workers/volume/file", "stratus/workers/volume/fake"}

// The founders' rule: imports run cmd → workers → drivers, and nothing above
// workers/ (cmd, handlers, models, views) imports a driver, tests included.
func TestNothingAboveWorkersImportsADriver(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, top := range []string{"cmd", "handlers", "models", "views"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, drv := range driverPackages {
					if p == drv || strings.HasPrefix(p, drv+"/") {
						rel, _ := filepath.Rel(root, path)
						t.Errorf("%s imports the driver package %s: choose drivers in workers/hostdrivers", rel, p)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
