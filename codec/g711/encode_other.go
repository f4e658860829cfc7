//go:build !amd64 || purego

package g711

// encodeSIMD does nothing where there is no SIMD encoder (or under the
// purego tag): encode then uses the table for every sample.
func encodeSIMD(out, in []byte, l Law) int { return 0 }
