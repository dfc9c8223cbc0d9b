package models_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"stratus/models"
)

// TestUnavailable tells a database that does not answer from every other
// failure, through the wrapping the intents add.
func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}
	for err, want := range map[error]bool{
		fmt.Errorf("list flavors: %w", refused):                                   true,
		fmt.Errorf("get user: %w", driver.ErrBadConn):                             true,
		fmt.Errorf("claim: %w", mysql.ErrInvalidConn):                             true,
		fmt.Errorf("x: %w", &mysql.MySQLError{Number: 1040, Message: "Too many"}): true,
		fmt.Errorf("x: %w", &mysql.MySQLError{Number: 1053}):                      true,
		errors.New("find session: sql: database is closed"):                       true,
		fmt.Errorf("x: %w", models.ErrUnavailable):                                true,
		nil:                             false,
		models.ErrNotFound:              false,
		gorm.ErrRecordNotFound:          false,
		gorm.ErrDuplicatedKey:           false,
		&mysql.MySQLError{Number: 1062}: false,
		errors.New("syntax error"):      false,
		models.Invalid("name", "bad"):   false,
	} {
		if got := models.Unavailable(err); got != want {
			t.Errorf("Unavailable(%v) = %t, want %t", err, got, want)
		}
	}
}
