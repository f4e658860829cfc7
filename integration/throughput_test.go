//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
)

// TestBridgeThroughput measures (VPIM_BENCH=1 only; it takes a minute) how
// fast the milter hands bridge-bound messages to the spool, fsync included,
// against the same messages to an ordinary passthrough recipient, through
// one Postfix, alternating the two modes. It reports msgs/s accepted at SMTP.
func TestBridgeThroughput(t *testing.T) {
	if os.Getenv("VPIM_BENCH") != "1" {
		t.Skip("set VPIM_BENCH=1 to run the bridge throughput measurement")
	}
	n, _ := strconv.Atoi(os.Getenv("VPIM_BENCH_N"))
	if n == 0 {
		n = 1000
	}
	d := startDaemon(t, fmt.Sprintf(`
[profile]
default_target = "passthrough"
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["*"]
outdial_allow = ["+39"]
spool_dir = %q
`, filepath.Join(t.TempDir(), "spool")))
	m := startMTA(t, harness.Postfix(), d.port)
	run := func(rcpts ...string) float64 {
		rcpt := rcpts[0]
		msg, _ := ulawMessage(t, "bench", rcpt, 1)
		var next, bad atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for s := 0; s < 10; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if code, _ := m.Submit(t, "caller@example.org", rcpts, msg); code != 250 {
						bad.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Errorf("%s: %d messages not accepted", rcpt, bad.Load())
		}
		return float64(n) / time.Since(start).Seconds()
	}
	var pass, bridge []float64
	for round := 0; round < 2; round++ {
		pass = append(pass, run("ordinary@example.net"))
		if os.Getenv("VPIM_BENCH_MIXED") == "1" {
			bridge = append(bridge, run("VOICE=+3940226338@voice.example.com", "ordinary@example.net"))
		} else {
			bridge = append(bridge, run("VOICE=+3940226338@voice.example.com"))
		}
		if os.Getenv("VPIM_BENCH_LOG") == "1" {
			t.Log(harness.Tail(d.logString(), 6))
		}
		t.Logf("round %d: passthrough %.1f msgs/s, bridge %.1f msgs/s, ratio %.2f", round+1, pass[round], bridge[round], bridge[round]/pass[round])
	}
}
