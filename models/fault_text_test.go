package models

import "testing"

// An owner reads a failure without the server's file paths: each becomes
// its last element, and what is not a file path stays.
func TestOwnerTextDropsServerPaths(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"quoted", "the image is unreadable: qemu-img info: qemu-img: Could not open '/var/lib/stratus/image-cache/abc': No such file or directory",
			"the image is unreadable: qemu-img info: qemu-img: Could not open 'abc': No such file or directory"},
		{"bare, before a colon", "open /srv/stratus/volumes/volume-1.part: no space left on device",
			"open volume-1.part: no space left on device"},
		{"several", "Cannot access storage file '/data/instances/i-1/disk' (as uid:999, gid:995): see /var/log/libvirt/qemu/i-1.log",
			"Cannot access storage file 'disk' (as uid:999, gid:995): see i-1.log"},
		{"double quoted", `lstat "/a/b/c": permission denied`, `lstat "c": permission denied`},
		{"at the start", "/usr/bin/qemu-img: exit status 1", "qemu-img: exit status 1"},
		{"after a bracket and an equals sign", "driver failed (path=/x/y/z) [/p/q]", "driver failed (path=z) [q]"},
		{"trailing slash", "cannot create /var/lib/stratus/objects/ here", "cannot create objects here"},
		{"a URL", "fetch http://images.example:9292/v2/images/abc/file: 503", "fetch http://images.example:9292/v2/images/abc/file: 503"},
		{"a CIDR", "10.0.0.0/24 overlaps fd00::/64", "10.0.0.0/24 overlaps fd00::/64"},
		{"a prefix length", "a /24 is too small", "a /24 is too small"},
		{"a root", "nothing mounted on /", "nothing mounted on /"},
		{"a relative path and a ratio", "write disk/part failed at 3/4", "write disk/part failed at 3/4"},
		{"no path", "No valid host was found", "No valid host was found"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerText(tc.in); got != tc.want {
				t.Errorf("ownerText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}
