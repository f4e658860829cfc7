package mp3

// Normative tables of ISO/IEC 11172-3 (MPEG-1) and ISO/IEC 13818-3
// (MPEG-2 lower sampling frequencies), shared by the encoder and the
// decoder. MPEG-2.5 (8, 11.025, 12 kHz) is the widely implemented
// extension of 13818-3 to half its rates; it uses the MPEG-2 syntax.

// version is the MPEG audio version as coded in the header's ID bits
// (11172-3 §2.4.2.3; MPEG-2.5 uses the reserved value 0).
type version uint8

const (
	mpeg25 version = 0
	mpeg2  version = 2
	mpeg1  version = 3
)

// lsf reports whether v uses the 13818-3 lower-sampling-frequency syntax:
// one granule per frame and the 9-bit scalefac_compress.
func (v version) lsf() bool { return v != mpeg1 }

// granules returns the granules per frame (576 samples each).
func (v version) granules() int {
	if v == mpeg1 {
		return 2
	}
	return 1
}

// sampleRates[v][i] is the rate for sampling_frequency index i
// (11172-3 §2.4.2.3, 13818-3 §2.4.2.3).
var sampleRates = [4][3]int{
	mpeg25: {11025, 12000, 8000},
	mpeg2:  {22050, 24000, 16000},
	mpeg1:  {44100, 48000, 32000},
}

// bitrates[lsf][i] is the Layer III bit rate in kbit/s for bitrate_index
// i (0 = free format, not supported; 15 is forbidden).
var bitrates = [2][15]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
}

// sfbLong[v][i] are the long-block scalefactor band boundaries
// (11172-3 Table 3-B.8, 13818-3 Table B.2; MPEG-2.5 11.025 and 12 kHz use
// the 16 kHz bands, 8 kHz has its own).
var sfbLong = [4][3][23]int{
	mpeg1: {
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 52, 62, 74, 90, 110, 134, 162, 196, 238, 288, 342, 418, 576},
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 42, 50, 60, 72, 88, 106, 128, 156, 190, 230, 276, 330, 384, 576},
		{0, 4, 8, 12, 16, 20, 24, 30, 36, 44, 54, 66, 82, 102, 126, 156, 194, 240, 296, 364, 448, 550, 576},
	},
	mpeg2: {
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 114, 136, 162, 194, 232, 278, 332, 394, 464, 540, 576},
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
	},
	mpeg25: {
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
		{0, 6, 12, 18, 24, 30, 36, 44, 54, 66, 80, 96, 116, 140, 168, 200, 238, 284, 336, 396, 464, 522, 576},
		{0, 12, 24, 36, 48, 60, 72, 88, 108, 132, 160, 192, 232, 280, 336, 400, 476, 566, 568, 570, 572, 574, 576},
	},
}

// sfbShort[v][i] are the short-block scalefactor band boundaries within
// one window of 192 lines (same sources as sfbLong).
var sfbShort = [4][3][14]int{
	mpeg1: {
		{0, 4, 8, 12, 16, 22, 30, 40, 52, 66, 84, 106, 136, 192},
		{0, 4, 8, 12, 16, 22, 28, 38, 50, 64, 80, 100, 126, 192},
		{0, 4, 8, 12, 16, 22, 30, 42, 58, 78, 104, 138, 180, 192},
	},
	mpeg2: {
		{0, 4, 8, 12, 18, 24, 32, 42, 56, 74, 100, 132, 174, 192},
		{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 136, 180, 192},
		{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192},
	},
	mpeg25: {
		{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192},
		{0, 4, 8, 12, 18, 26, 36, 48, 62, 80, 104, 134, 174, 192},
		{0, 8, 16, 24, 36, 52, 72, 96, 124, 160, 162, 164, 166, 192},
	},
}

// pretab is the preemphasis added to long-block scalefactors when
// preflag is set (11172-3 Table 3-B.6).
var pretab = [22]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 2, 0}

// slen1, slen2 give the scalefactor bit widths for bands 0..10 and 11..20
// per MPEG-1 scalefac_compress (11172-3 §2.4.2.7).
var (
	slen1 = [16]int{0, 0, 0, 0, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4}
	slen2 = [16]int{0, 1, 2, 3, 0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 2, 3}
)

// nrOfSfb[row][blocks] is the number of scalefactor bands in each of the
// four slen groups of an MPEG-2 granule (13818-3 Table B.1 / §2.4.3.2);
// blocks is 0 long, 1 short, 2 mixed. Rows 0-2 are without intensity
// stereo, 3-5 for the intensity-coded right channel.
var nrOfSfb = [6][3][4]int{
	{{6, 5, 5, 5}, {9, 9, 9, 9}, {6, 9, 9, 9}},
	{{6, 5, 7, 3}, {9, 9, 12, 6}, {6, 9, 12, 6}},
	{{11, 10, 0, 0}, {18, 18, 0, 0}, {15, 18, 0, 0}},
	{{7, 7, 7, 0}, {12, 12, 12, 0}, {6, 15, 12, 0}},
	{{6, 6, 6, 3}, {12, 9, 9, 6}, {6, 12, 9, 6}},
	{{8, 8, 5, 0}, {15, 12, 9, 0}, {6, 18, 9, 0}},
}

// huffTable describes big_values table table_select (11172-3 Table
// 3-B.7): the code table it uses, the size of that table's square and
// its linbits. Tables 0, 4 and 14 do not exist (tab nil; table 0 codes
// nothing).
type huffTable struct {
	tab     []hcode
	dim     int // values 0..dim-1 per coordinate; 16 means 15 is the escape
	linbits int
}

var huffTables = [32]huffTable{
	1:  {htab1[:], 2, 0},
	2:  {htab2[:], 3, 0},
	3:  {htab3[:], 3, 0},
	5:  {htab5[:], 4, 0},
	6:  {htab6[:], 4, 0},
	7:  {htab7[:], 6, 0},
	8:  {htab8[:], 6, 0},
	9:  {htab9[:], 6, 0},
	10: {htab10[:], 8, 0},
	11: {htab11[:], 8, 0},
	12: {htab12[:], 8, 0},
	13: {htab13[:], 16, 0},
	15: {htab15[:], 16, 0},
	16: {htab16[:], 16, 1},
	17: {htab16[:], 16, 2},
	18: {htab16[:], 16, 3},
	19: {htab16[:], 16, 4},
	20: {htab16[:], 16, 6},
	21: {htab16[:], 16, 8},
	22: {htab16[:], 16, 10},
	23: {htab16[:], 16, 13},
	24: {htab24[:], 16, 4},
	25: {htab24[:], 16, 5},
	26: {htab24[:], 16, 6},
	27: {htab24[:], 16, 7},
	28: {htab24[:], 16, 8},
	29: {htab24[:], 16, 9},
	30: {htab24[:], 16, 11},
	31: {htab24[:], 16, 13},
}

// count1Tables are the quadruple tables A and B (count1table_select 0, 1).
var count1Tables = [2]*[16]hcode{&htab32, &htab33}
