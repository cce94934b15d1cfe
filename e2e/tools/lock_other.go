//go:build !unix

package tools

// lockFile is a no-op where flock is not available: concurrent builds then
// race, which wastes time but stays correct (each renames a whole binary).
func lockFile(string) (func(), error) { return func() {}, nil }
