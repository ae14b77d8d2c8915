//go:build !linux

package childproc

import "os/exec"

// dieWithParent needs Linux's parent-death signal; elsewhere children
// outlive a parent that is killed.
func dieWithParent(*exec.Cmd) {}
