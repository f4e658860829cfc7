package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vpim-milter/vpim-milter/telephony"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // every one must appear; the count must match
	}{
		{"valid override", "[milter]\nlisten = \"unix:/run/x.sock\"\nbody_max_size = \"10MiB\"\n[profile]\ntargets = { \"vm.example.net\" = \"vpim2\" }\n", nil},
		{"unknown keys", "[milter]\nlistn = \"x\"\n[nosuch]\na = 1\n", []string{"milter.listn: unknown key", "nosuch.a: unknown key"}},
		{"all bad values at once", `
[milter]
listen = "smtp:25"
error_action = "drop"
oversize_action = "ignore"
body_max_size = 0
socket_mode = "rw"
[log]
format = "xml"
[profile]
default_target = "vpim3"
ivm_audio = "flac"
voice_domains = ["not a domain"]
[telephony]
backend = "carrier-pigeon"
outdial_deny = ["900x"]
[metrics]
listen = "nowhere"
`, []string{"milter.listen:", "milter.error_action: \"drop\"", "milter.oversize_action: \"ignore\"", "milter.body_max_size: must be positive",
			"milter.socket_mode: \"rw\"", "log.format: \"xml\"", "profile.default_target: \"vpim3\"", "profile.ivm_audio: \"flac\"",
			"profile.voice_domains: \"not a domain\"", "telephony.backend: unknown back-end \"carrier-pigeon\"", "telephony.outdial_deny[0]: \"900x\"", "metrics.listen: \"nowhere\""}},
		{"bad size string", "[milter]\nbody_max_size = \"lots\"\n", []string{"\"lots\" is not a size"}},
		{"bad duration", "[milter]\nread_timeout = \"soon\"\n", []string{"\"soon\" is not a duration"}},
		{"syntax error", "[milter\n", []string{"At line 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tc.toml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n  "); len(tc.want) > 1 && n != len(tc.want) {
				t.Errorf("%d problems reported, want %d:\n%v", n, len(tc.want), err)
			}
		})
	}
}

func TestConfigOverridesOnlyItsKeys(t *testing.T) {
	cfg, err := loadConfig(writeConfig(t, "[milter]\nbody_max_size = 1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := defaultConfig()
	if cfg.Milter.BodyMaxSize != 1000 || cfg.Milter.Listen != def.Milter.Listen || cfg.Profile.DefaultTarget != "ivm" {
		t.Errorf("got %+v", cfg.Milter)
	}
}

func TestConfigCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"config"}, nil, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	for _, want := range []string{`listen = "inet:8895@127.0.0.1"`, `default_target = "ivm"`, `body_max_size = "64MiB"`, `backend = "spool"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("effective config lacks %s", want)
		}
	}
	// What config prints must load again to the same configuration.
	again, err := loadConfig(writeConfig(t, strings.SplitN(out.String(), "\n", 2)[1]))
	if err != nil {
		t.Fatalf("printed config does not load: %v", err)
	}
	if again.Milter != defaultConfig().Milter {
		t.Errorf("round trip changed [milter]: %+v", again.Milter)
	}
	tcompareTelephonyKeep(t, again.Telephony, defaultConfig().Telephony)
	errb.Reset()
	if rc := run([]string{"config", "-c", writeConfig(t, "[milter]\nbogus = 1\n")}, nil, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "milter.bogus: unknown key") {
		t.Errorf("invalid config: rc %d, stderr %q", rc, errb.String())
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{{"1024", 1024, true}, {"1KiB", 1024, true}, {"64MiB", 64 << 20, true}, {"2GiB", 2 << 30, true}, {"10MB", 10e6, true}, {"-1", 0, false}, {"MiB", 0, false}, {"1.5MiB", 0, false}}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func ExampleConfig() {
	cfg := defaultConfig()
	o, _ := cfg.milterOptions()
	println(o.Listen.String())
	// The built-in listen address is inet:8895@127.0.0.1, i.e. tcp4:127.0.0.1:8895.
}

// TestSampleConfigDocumentsEveryKey: contrib/vpim-milter.toml loads, and
// every key of the configuration appears in it.
func TestSampleConfigDocumentsEveryKey(t *testing.T) {
	const sample = "../../contrib/vpim-milter.toml"
	if _, err := loadConfig(sample); err != nil {
		t.Fatalf("sample config: %v", err)
	}
	var sampleKeys, allKeys map[string]bool
	keys := func(doc string) map[string]bool {
		var v map[string]any
		md, err := toml.Decode(doc, &v)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, k := range md.Keys() {
			out[k.String()] = true
		}
		return out
	}
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	sampleKeys = keys(string(b))
	def := defaultConfig()
	enc, err := def.encode()
	if err != nil {
		t.Fatal(err)
	}
	allKeys = keys(enc)
	for k := range allKeys {
		if !sampleKeys[k] {
			t.Errorf("contrib/vpim-milter.toml does not document %s", k)
		}
	}
}

func tcompareTelephonyKeep(t *testing.T, got, want TelephonyConfig) {
	t.Helper()
	if got.KeepDone != want.KeepDone || got.KeepFailed != want.KeepFailed {
		t.Errorf("keep_done, keep_failed = %v, %v; want %v, %v", time.Duration(got.KeepDone), time.Duration(got.KeepFailed),
			time.Duration(want.KeepDone), time.Duration(want.KeepFailed))
	}
}

// TestTelephonyRetention: telephony.keep_done and keep_failed from the file
// to telephony.Options, through `vpim-milter config` and back.
func TestTelephonyRetention(t *testing.T) {
	tests := []struct {
		name                 string
		toml                 string
		wantDone, wantFailed time.Duration // in telephony.Options
		printed              string        // in `vpim-milter config`
		wantErr              string        // error after "config: <path>: "; "" = valid
	}{
		{"defaults", "", 168 * time.Hour, 720 * time.Hour, "keep_done = \"168h0m0s\"\n  keep_failed = \"720h0m0s\"", ""},
		{"set", "keep_done = \"36h\"\nkeep_failed = \"2160h\"", 36 * time.Hour, 2160 * time.Hour,
			"keep_done = \"36h0m0s\"\n  keep_failed = \"2160h0m0s\"", ""},
		{"0s keeps forever", "keep_done = \"0s\"\nkeep_failed = \"0s\"", telephony.KeepForever, telephony.KeepForever,
			"keep_done = \"0s\"\n  keep_failed = \"0s\"", ""},
		{"negative keep_done", "keep_done = \"-1h\"", 0, 0, "",
			"1 problem(s):\n  telephony.keep_done: must not be negative, got -1h0m0s (hint: \"168h\" is a week)"},
		{"both negative", "keep_done = \"-1s\"\nkeep_failed = \"-30m\"", 0, 0, "",
			"2 problem(s):\n  telephony.keep_done: must not be negative, got -1s (hint: \"168h\" is a week)" +
				"\n  telephony.keep_failed: must not be negative, got -30m0s (hint: \"720h\" is 30 days)"},
		{"not a duration", "keep_done = \"7d\"", 0, 0, "",
			"toml: error: \"7d\" is not a duration such as \"30s\" or \"2m\"\n\nAt line 2, column 14-15:\n\n      1 | [telephony]\n      2 | keep_done = \"7d\"\n                       ^^\n"},
		{"not a string", "keep_failed = 3600", 0, 0, "",
			"toml: error: \"3600\" is not a duration such as \"30s\" or \"2m\"\n\nAt line 2, column 15-18:\n\n      1 | [telephony]\n      2 | keep_failed = 3600\n                        ^^^^\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, "[telephony]\n"+tc.toml+"\n")
			cfg, err := loadConfig(path)
			if tc.wantErr != "" {
				want := "config: " + path + ": " + tc.wantErr
				if err == nil || err.Error() != want {
					t.Fatalf("error %q\nwant  %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := cfg.telephonyOptions()
			if o.KeepDone != tc.wantDone || o.KeepFailed != tc.wantFailed {
				t.Fatalf("options keep %v, %v; want %v, %v", o.KeepDone, o.KeepFailed, tc.wantDone, tc.wantFailed)
			}
			var out, errb bytes.Buffer
			if rc := run([]string{"config", "-c", path}, nil, &out, &errb); rc != 0 {
				t.Fatalf("config: rc %d: %s", rc, errb.String())
			}
			if !strings.Contains(out.String(), "\n  attempt_timeout = \"10m0s\"\n  "+tc.printed+"\n") {
				t.Fatalf("config output lacks %q:\n%s", tc.printed, out.String())
			}
			again, err := loadConfig(writeConfig(t, strings.SplitN(out.String(), "\n", 2)[1]))
			if err != nil {
				t.Fatalf("printed config does not load: %v", err)
			}
			tcompareTelephonyKeep(t, again.Telephony, cfg.Telephony)
		})
	}
}
