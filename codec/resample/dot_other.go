//go:build !amd64

package resample

// dot is the inner product of a and b[:len(a)]; len(a) must be a multiple
// of 8 and len(b) >= len(a).
func dot(a, b []float32) float32 { return dotGeneric(a, b) }
