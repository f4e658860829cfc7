package telephony

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/siptest"
)

// TestSIPReplayDTMF: baresip answers, sends DTMF "1" (RFC 4733) through its
// ctrl_tcp interface during the message, and the bridge plays it again.
func TestSIPReplayDTMF(t *testing.T) {
	t.Parallel()
	needTool(t, "baresip", "espeak-ng", "sox")
	const user = "+3940226338"
	callee := siptest.StartBaresip(t, user, "PCMA")

	pcm := speech(t, "Press one to replay.")
	sink := newSMTPSink(t)
	s, err := OpenSpool(t.TempDir())
	tcheck(t, err, "spool")
	meta := testMeta()
	meta.Number = user
	id, err := s.Enqueue(meta, bytes.NewReader(pcm), int64(len(pcm)/2))
	tcheck(t, err, "enqueue")
	o := sipOpts(t, s.Dir(), callee.SIPPort, sink)
	o.SIP.Replay, o.SIP.ReplayWait, o.SIP.MaxReplays = true, 2*time.Second, 1
	startSIPBridge(t, o, s)

	// Once the call is up (the dump exists), press 1.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if files, _ := filepath.Glob(filepath.Join(callee.Dir, "dump-*-dec.wav")); len(files) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("call not answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", callee.CtrlPort), 5*time.Second)
	tcheck(t, err, "ctrl_tcp")
	j := `{"command":"sndcode","params":"1"}`
	fmt.Fprintf(c, "%d:%s,", len(j), j) // netstring
	c.Close()

	state, job := waitFinal(t, s, id, 60*time.Second)
	tcompare(t, state, "done", "state")
	tcompare(t, job.Attempts, 1, "attempts")
	rec, _ := readWAVData(t, callee.WaitRecording(t, 1, 10*time.Second))
	src := pcmSamples(pcm)
	ref := make([]int16, len(src))
	for i, v := range src {
		ref[i] = alawDecode(alawEncode(v))
	}
	// Two plays: the message must be found twice, one play length apart.
	play := len(src) + 8000*(200+500)/1000
	if len(rec) < len(src)+play {
		t.Fatalf("recording %.2f s too short for two plays of %.2f s", float64(len(rec))/8000, float64(play)/8000)
	}
	lag1, ncc1, _ := align(ref, rec[:play])
	lag2, ncc2, snr2 := align(ref, rec[play:])
	t.Logf("replay: recording %.2f s, play 1 at %d (NCC %.4f), play 2 at %d (NCC %.4f, SNR %.1f dB)",
		float64(len(rec))/8000, lag1, ncc1, play+lag2, ncc2, snr2)
	if ncc1 < 0.99 || ncc2 < 0.99 {
		t.Fatalf("message not found twice: NCC %.4f, %.4f", ncc1, ncc2)
	}
}
