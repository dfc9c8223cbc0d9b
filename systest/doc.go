// Package systest holds Stratus' system tests: the real binary's processes
// (`stratus serve`, `stratus scheduler`, `stratus compute --driver libvirt`)
// against a real libvirtd and qemu that the lab (systest/lab) runs in
// namespaces of the test's own, driven through the JSON API as a tenant
// would. `make bench` runs its benchmark of API→ACTIVE on real guests.
package systest
