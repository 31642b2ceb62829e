//go:build !linux

package fleetbench

// cpuSample is not measured outside Linux.
type cpuSample struct{}

func readCPU() cpuSample { return cpuSample{} }

func (cpuSample) since(cpuSample, string) string { return "not measured on this system" }

// raiseFileLimit is a no-op outside Linux.
func raiseFileLimit() {}
