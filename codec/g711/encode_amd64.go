//go:build !purego

package g711

// encodeSIMD encodes the longest prefix of in that is a whole number of
// 16-sample blocks and fits out, and returns the number of samples done.
func encodeSIMD(out, in []byte, l Law) int {
	n := min(len(out), len(in)/2) &^ 15
	if n == 0 {
		return 0
	}
	if l == ALaw {
		alawSSE2(out[:n], in[:2*n])
	} else {
		ulawSSE2(out[:n], in[:2*n])
	}
	return n
}

//go:noescape
func ulawSSE2(out, in []byte)

//go:noescape
func alawSSE2(out, in []byte)
