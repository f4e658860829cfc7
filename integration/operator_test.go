//go:build integration

package integration

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// TestReportModeThroughMTAs runs the built daemon in report mode behind a real Postfix
// and a real Sendmail (README "Report-only mode", "Result stamp"):
//
//   - A Private VPIM v2 message to an IVM recipient, which enforce mode refuses with 550
//     5.6.0, is delivered unchanged, with one stamp at the top saying what enforce mode
//     would have done; /metrics counts it.
//   - A forged stamp (one that claims the daemon's authserv-id) is removed, from voice
//     mail and from plain mail alike; another host's stamp stays.
//   - Plain mail gets no stamp.
//
// Every transaction's log line names the MTA's queue ID ({i}, as the snippets and the
// negotiation provide it).
func TestReportModeThroughMTAs(t *testing.T) {
	const id = "mx.report.test"
	metricsPort := testport.Reserve(t, 1)
	d := startDaemon(t, fmt.Sprintf("mode = \"report\"\nauthserv_id = %q\n[metrics]\nlisten = \"127.0.0.1:%d\"\n%s",
		id, metricsPort.Port(0), voiceConfig), metricsPort)
	forged := "VPIM-Check: (looks real) MX.Report.Test; mode=enforce; profile=vpim2; target=ivm; verdict=accept\n"
	foreign := "VPIM-Check: mx.elsewhere.example; mode=enforce; profile=ivm; target=ivm; verdict=accept\n"
	plain := "From: a@example.org\nTo: b@ivm.example.org\nDate: Mon, 23 Nov 2026 10:00:00 -0500\nSubject: lunch\nMessage-ID: <%s@vm.example.com>\n\nat noon?\n"
	var private int
	for _, k := range harness.MTAs() {
		t.Run(k.Name, func(t *testing.T) {
			m := startMTA(t, k, d.port)
			cases := []struct {
				name, id, rcpt, msg string
				stamp               string // our stamp's value up to the rule list; "" none
				rules               string // a rule the list names
				want                string // the message as delivered below our stamp and the MTA's Received
			}{
				{"private voice to ivm", "rep-priv", "ann@ivm.example.org", "", id + "; mode=report; profile=vpim2; target=ivm; verdict=reject; condition=private-not-capable; action=reject; code=5.6.0; rules=", "V2-HDR-SENS", ""},
				{"voice with a forged stamp", "rep-forged", "ann@ivm.example.org", forged, id + "; mode=report; profile=vpim2; target=ivm; verdict=modify; rules=", "I-", ""},
				{"plain with foreign and forged stamps", "rep-plain-forged", "b@ivm.example.org", foreign + forged, "", "", foreign},
				{"plain", "rep-plain", "b@ivm.example.org", "", "", "", ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					var msg, want string
					switch {
					case strings.HasPrefix(c.id, "rep-plain"):
						msg = c.msg + fmt.Sprintf(plain, c.id)
						want = c.want + fmt.Sprintf(plain, c.id)
					case c.id == "rep-priv":
						msg = vpim2Message(t, c.id, c.rcpt, "Private", 1)
						want = msg
					default:
						want = vpim2Message(t, c.id, c.rcpt, "", 1)
						msg = c.msg + want
					}
					out := relay(t, m, "12145551212@vm.example.com", c.rcpt, c.id, msg)
					got := out.Message()
					ours := ""
					if v, rest, ok := strings.Cut(got, "\n"); ok && strings.HasPrefix(v, "VPIM-Check: "+id+";") {
						ours, got = strings.TrimPrefix(v, "VPIM-Check: "), rest
					}
					t.Logf("%s: stamp %q", k.Name, ours)
					switch {
					case c.stamp == "" && ours != "":
						t.Errorf("stamp %q on plain mail", ours)
					case c.stamp != "" && (!strings.HasPrefix(ours, c.stamp) || !strings.Contains(ours[len(c.stamp):], c.rules)):
						t.Errorf("stamp %q, want %q with %s in the rules\n%s", ours, c.stamp, c.rules, d.logString())
					}
					// Below the stamp: the MTA's Received field, then the message exactly as
					// it was sent (the MTAs add nothing else to these messages).
					fields := harness.HeaderFields(got[:strings.Index(got, "\n\n")+1])
					if len(fields) == 0 || harness.FieldName(fields[0]) != "Received" {
						t.Fatalf("no Received field below the stamp:\n%s", got)
					}
					if rest := strings.TrimPrefix(got, fields[0]); rest != want {
						t.Errorf("delivered message differs from the one sent:\n%s\nwant\n%s", rest, want)
					}
				})
			}
			if t.Failed() {
				return
			}
			private++
			// Every transaction line names the MTA's queue ID.
			for _, l := range strings.Split(d.logString(), "\n") {
				if strings.Contains(l, "msg=transaction") && (!strings.Contains(l, "queue_id=") || strings.Contains(l, "queue_id= ") || strings.Contains(l, `queue_id=""`)) {
					t.Errorf("transaction logged without a queue ID: %s", l)
				}
			}
			want := fmt.Sprintf(`vpim_milter_decisions_total{condition="private-not-capable",mode="report",verdict="reject"} %d`, private)
			if got := scrape(t, metricsPort.Port(0), `vpim_milter_decisions_total{condition="private-not-capable"`); got != want {
				t.Errorf("metrics: %q, want %q", got, want)
			}
		})
	}
}

// scrape returns the line of the daemon's /metrics on 127.0.0.1:port that starts with
// prefix ("" when none), retrying for a few seconds (the transaction is counted after the
// MTA got its answer).
func scrape(t *testing.T, port int, prefix string) string {
	t.Helper()
	var line string
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				line = sc.Text()
			}
		}
		if line != "" || time.Now().After(deadline) {
			return line
		}
		time.Sleep(100 * time.Millisecond)
	}
}
