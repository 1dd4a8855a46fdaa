//go:build !unix

package store

// freeBytes cannot know the free space here: the copy's own write fails instead.
func freeBytes(string) (int64, bool) { return 0, false }
