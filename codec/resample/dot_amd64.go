package resample

// dot is the inner product of a and b[:len(a)]; len(a) must be a multiple
// of 8 and len(b) >= len(a). On amd64 it uses SSE (part of the amd64
// baseline, so no CPU feature check is needed): dot_amd64.s.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	return dotSSE(a, b)
}

//go:noescape
func dotSSE(a, b []float32) float32
