//go:build !linux

package main

import "os/exec"

// dieWithTest does nothing where there is no parent-death signal; the
// test's cleanup still stops the server.
func dieWithTest(cmd *exec.Cmd) {}
