package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
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
	if !reflect.DeepEqual(again.Milter, defaultConfig().Milter) {
		t.Errorf("round trip changed [milter]: %+v", again.Milter)
	}
	tcompareTelephonyKeep(t, again.Telephony, defaultConfig().Telephony)
	if again.DSN != defaultConfig().DSN {
		t.Errorf("round trip changed [dsn]: %+v, want %+v", again.DSN, defaultConfig().DSN)
	}
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

// mustOptions maps cfg to the packages' options.
func mustOptions(t *testing.T, cfg *Config) options {
	t.Helper()
	o, err := cfg.options()
	if err != nil {
		t.Fatal(err)
	}
	return o
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

// loadWant loads the config at path. With wantErr "" it must load and is
// returned; otherwise loading must fail with exactly "config: <path>: " +
// wantErr, and loadWant returns false.
func loadWant(t *testing.T, path, wantErr string) (Config, bool) {
	t.Helper()
	cfg, err := loadConfig(path)
	if wantErr != "" {
		want := "config: " + path + ": " + wantErr
		if err == nil || err.Error() != want {
			t.Fatalf("error %q\nwant  %q", err, want)
		}
		return Config{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}

// printAndReload runs `vpim-milter config -c path` and loads its output
// (after the first, comment line) back: the printed text and the reloaded
// config.
func printAndReload(t *testing.T, path string) (string, Config) {
	t.Helper()
	var out, errb bytes.Buffer
	if rc := run([]string{"config", "-c", path}, nil, &out, &errb); rc != 0 {
		t.Fatalf("config: rc %d: %s", rc, errb.String())
	}
	again, err := loadConfig(writeConfig(t, strings.SplitN(out.String(), "\n", 2)[1]))
	if err != nil {
		t.Fatalf("printed config does not load: %v", err)
	}
	return out.String(), again
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
			cfg, ok := loadWant(t, path, tc.wantErr)
			if !ok {
				return
			}
			o := mustOptions(t, &cfg).telephony
			if o.KeepDone != tc.wantDone || o.KeepFailed != tc.wantFailed {
				t.Fatalf("options keep %v, %v; want %v, %v", o.KeepDone, o.KeepFailed, tc.wantDone, tc.wantFailed)
			}
			out, again := printAndReload(t, path)
			if !strings.Contains(out, "\n  attempt_timeout = \"10m0s\"\n  "+tc.printed+"\n") {
				t.Fatalf("config output lacks %q:\n%s", tc.printed, out)
			}
			tcompareTelephonyKeep(t, again.Telephony, cfg.Telephony)
		})
	}
}

// TestDSNDelayAfter: dsn.delay_after from the file to telephony.Options,
// through `vpim-milter config` and back.
func TestDSNDelayAfter(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    time.Duration // telephony.Options.DSN.DelayAfter
		printed string        // in `vpim-milter config`
		wantErr string        // error after "config: <path>: "; "" = valid
	}{
		{"default", "", 4 * time.Hour, `delay_after = "4h0m0s"`, ""},
		{"set", `delay_after = "90m"`, 90 * time.Minute, `delay_after = "1h30m0s"`, ""},
		{"0s sends none", `delay_after = "0s"`, telephony.DelayNever, `delay_after = "0s"`, ""},
		{"negative", `delay_after = "-1h"`, 0, "",
			"1 problem(s):\n  dsn.delay_after: must not be negative, got -1h0m0s (hint: \"4h\")"},
		{"not a duration", `delay_after = "4 hours"`, 0, "",
			"toml: error: \"4 hours\" is not a duration such as \"30s\" or \"2m\"\n\nAt line 2, column 16-22:\n\n      1 | [dsn]\n      2 | delay_after = \"4 hours\"\n                         ^^^^^^^\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, "[dsn]\n"+tc.toml+"\n")
			cfg, ok := loadWant(t, path, tc.wantErr)
			if !ok {
				return
			}
			if got := mustOptions(t, &cfg).telephony.DSN.DelayAfter; got != tc.want {
				t.Fatalf("options delay_after %v, want %v", got, tc.want)
			}
			out, again := printAndReload(t, path)
			if !strings.Contains(out, "\n  disable = false\n  "+tc.printed+"\n") {
				t.Fatalf("config output lacks %q:\n%s", tc.printed, out)
			}
			if again.DSN != cfg.DSN {
				t.Fatalf("round trip changed [dsn]: %+v, want %+v", again.DSN, cfg.DSN)
			}
		})
	}
}

// TestBridgeMaxAudio: telephony.max_audio bounds the bridge's hand-off
// (telephony.Options.MaxAudio) and what the profile refuses before it
// (profile.Options.BridgeMaxAudio, redteam R11): the two agree, and a bad
// value is reported once, under its key.
func TestBridgeMaxAudio(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		want    time.Duration // in both Options
		wantErr string        // error after "config: <path>: "; "" = valid
	}{
		{"default", "", 5 * time.Minute, ""},
		{"set", `max_audio = "2s"`, 2 * time.Second, ""},
		{"zero", `max_audio = "0s"`, 0, "1 problem(s):\n  telephony.max_audio: must be positive, got 0s (hint: \"5m\")"},
		{"negative", `max_audio = "-1m"`, 0, "1 problem(s):\n  telephony.max_audio: must be positive, got -1m0s (hint: \"5m\")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ok := loadWant(t, writeConfig(t, "[telephony]\n"+tc.toml+"\n"), tc.wantErr)
			if !ok {
				return
			}
			o := mustOptions(t, &cfg)
			if o.telephony.MaxAudio != tc.want || o.profile.BridgeMaxAudio != tc.want {
				t.Fatalf("telephony.MaxAudio %v, profile.BridgeMaxAudio %v; want %v", o.telephony.MaxAudio, o.profile.BridgeMaxAudio, tc.want)
			}
		})
	}
}

// TestSIPPasswordFile: telephony.sip.username and password_file, from the
// file to telephony.SIPOptions; `vpim-milter config` prints the path, never
// the password.
func TestSIPPasswordFile(t *testing.T) {
	tests := []struct {
		name     string
		backend  string
		sip      string  // [telephony.sip] keys; @PW@ is the password file's path
		content  *string // nil: no file
		wantErr  string  // the one problem, after "config: <path>: 1 problem(s):\n  "; "" = valid
		wantUser string
		wantPass string
	}{
		{"valid", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", ptr("s3cret pass\n"), "", "vpim-gw", "s3cret pass"},
		{"CRLF dropped, blanks kept", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", ptr(" s3cret pass \r\n\r\n"), "", "vpim-gw", " s3cret pass "},
		{"no credentials", "sip", "", nil, "", "", ""},
		{"missing file", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", nil,
			"telephony.sip.password_file: open @PW@: no such file or directory", "", ""},
		{"directory", "sip", "username = \"vpim-gw\"\npassword_file = \"@DIR@\"", nil,
			"telephony.sip.password_file: read @DIR@: is a directory", "", ""},
		{"empty", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", ptr("\n"),
			"telephony.sip.password_file: \"@PW@\" is empty (hint: the password on one line)", "", ""},
		{"two lines", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", ptr("s3cret\npass\n"),
			"telephony.sip.password_file: \"@PW@\" has more than one line (hint: the password on one line)", "", ""},
		{"relative path", "sip", "username = \"vpim-gw\"\npassword_file = \"sip-password\"", nil,
			"telephony.sip.password_file: \"sip-password\" must be an absolute path", "", ""},
		{"password without username", "sip", "password_file = \"@PW@\"", ptr("s3cret pass\n"),
			"telephony.sip.username: required when a password is set (hint: the digest user name the trunk has for us)", "", ""},
		{"username without password", "sip", "username = \"vpim-gw\"", nil,
			"telephony.sip.password_file: required with telephony.sip.username (hint: a file only the daemon can read, such as /etc/vpim-milter/sip-password)", "", ""},
		{"quote in username", "sip", "username = 'vpim\"gw'\npassword_file = \"@PW@\"", ptr("s3cret pass\n"),
			"telephony.sip.username: \"vpim\\\"gw\" contains a quote, backslash or control character", "", ""},
		{"other back-end: not read", "spool", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", nil, "", "vpim-gw", ""},
		{"readable by others", "sip", "username = \"vpim-gw\"\npassword_file = \"@PW@\"", ptr("s3cret pass\n"),
			"telephony.sip.password_file: \"@PW@\" has mode 0604: every local user can read or change the password (hint: chmod 0640, owner root, group of the daemon)", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pw := filepath.Join(dir, "sip-password")
			if tc.content != nil {
				if err := os.WriteFile(pw, []byte(*tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(tc.name, "others") {
					if err := os.Chmod(pw, 0o604); err != nil {
						t.Fatal(err)
					}
				}
			}
			subst := strings.NewReplacer("@PW@", pw, "@DIR@", dir)
			path := writeConfig(t, fmt.Sprintf("[telephony]\nbackend = %q\n[telephony.sip]\n%s\n", tc.backend, subst.Replace(tc.sip)))
			wantErr := ""
			if tc.wantErr != "" {
				wantErr = "1 problem(s):\n  " + subst.Replace(tc.wantErr)
			}
			cfg, ok := loadWant(t, path, wantErr)
			if !ok {
				return
			}
			o := mustOptions(t, &cfg).telephony
			if o.SIP.Username != tc.wantUser || o.SIP.Password != tc.wantPass {
				t.Fatalf("options username, password = %q, %q; want %q, %q", o.SIP.Username, o.SIP.Password, tc.wantUser, tc.wantPass)
			}
			out, again := printAndReload(t, path)
			if tc.content != nil && strings.Contains(out, "s3cret") {
				t.Fatalf("config prints the password:\n%s", out)
			}
			printed := "password_file = \"\""
			if strings.Contains(tc.sip, "password_file") {
				printed = fmt.Sprintf("password_file = %q", pw)
			}
			if !strings.Contains(out, fmt.Sprintf("\n    username = %q\n    %s\n", tc.wantUser, printed)) {
				t.Fatalf("config output lacks username and %s:\n%s", printed, out)
			}
			if got := mustOptions(t, &again).telephony.SIP; got.Username != tc.wantUser || got.Password != tc.wantPass {
				t.Fatalf("round trip: username, password = %q, %q", got.Username, got.Password)
			}
		})
	}
}

// TestSIPPasswordFileReread: every load (SIGHUP runs one) reads the file
// again; a file that went away fails the load, so reload keeps the running
// configuration.
func TestSIPPasswordFileReread(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "sip-password")
	path := writeConfig(t, fmt.Sprintf("[telephony]\nbackend = \"sip\"\n[telephony.sip]\nusername = \"vpim-gw\"\npassword_file = %q\n", pw))
	for _, p := range []string{"first\n", "second\n"} {
		if err := os.WriteFile(pw, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := mustOptions(t, &cfg).telephony.SIP.Password, strings.TrimSuffix(p, "\n"); got != want {
			t.Fatalf("password %q, want %q", got, want)
		}
	}
	if err := os.Remove(pw); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("config: %s: 1 problem(s):\n  telephony.sip.password_file: open %s: no such file or directory", path, pw)
	if _, err := loadConfig(path); err == nil || err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSampleConfigListsEnums: contrib/vpim-milter.toml names every value
// the packages accept for their enum keys, so the documentation follows the
// one list in each package.
func TestSampleConfigListsEnums(t *testing.T) {
	b, err := os.ReadFile("../../contrib/vpim-milter.toml")
	if err != nil {
		t.Fatal(err)
	}
	sample := string(b)
	var targets, actions []string
	for _, tg := range profile.BodyTargets() {
		targets = append(targets, string(tg))
	}
	for _, a := range slices.Concat(milter.ErrorActions(), milter.OversizeActions()) {
		actions = append(actions, string(a))
	}
	var modes, onActions []string
	for _, m := range milter.Modes() {
		modes = append(modes, string(m))
	}
	for _, a := range milter.OnActions() {
		onActions = append(onActions, string(a))
	}
	for key, values := range map[string][]string{
		"profile.default_target":   targets,
		"profile.ivm_audio":        profile.IVMAudioForms(),
		"profile.desktop_audio":    profile.DesktopAudioForms(),
		"profile.message_id":       profile.MessageIDPolicies(),
		"profile.sensitivity_code": profile.SensitivityCodes()[1:], // "" is documented as empty
		"milter.*_action":          actions,
		"milter.mode":              modes,
		"milter.on.*":              onActions,
		"telephony.backend":        telephony.Backends(),
		"telephony.sip.codecs":     telephony.SIPCodecs(),
		"log.format":               logFormats(),
	} {
		for _, v := range values {
			if !strings.Contains(sample, `"`+v+`"`) {
				t.Errorf("contrib/vpim-milter.toml does not name %q, a value of %s", v, key)
			}
		}
	}
}

// TestExposedListener: with gateway domains, a milter listener every local user can
// reach (TCP, a socket that others may write) is refused, naming the key and the
// recommendation, unless allow_unauthenticated_listener accepts it; whatever the
// back-end: the spool back-end's jobs are called by an external bridge (redteam R2).
// The built-in defaults (no gateway) and a unix socket of mode 0660 are fine.
func TestExposedListener(t *testing.T) {
	const refusal = `milter.listen: %s, and telephony.gateway_domains makes calls (backend %s): anyone on this host could make the gateway dial ` +
		`(hint: listen = "unix:/run/vpim-milter/milter.sock" with socket_group = "postfix" and socket_mode = "0660"; ` +
		`or set milter.allow_unauthenticated_listener = true to accept the risk)`
	const tcp = "inet:8895@127.0.0.1 is a TCP listener: every local user can connect to it"
	sock := filepath.Join(t.TempDir(), "m.sock")
	for _, tc := range []struct {
		name, milter, telephony, want string
	}{
		{"defaults", "", "", ""},
		{"TCP, spool back-end without gateway", "", `backend = "spool"`, ""},
		{"TCP, exec back-end without gateway", "", `backend = "exec"`, ""},
		{"TCP, gateway, spool back-end", "", `gateway_domains = ["voice.example.com"]`,
			fmt.Sprintf(refusal, tcp, `"spool": an external bridge calls its jobs`)},
		{"TCP, gateway, exec", "", `gateway_domains = ["voice.example.com"]` + "\nbackend = \"exec\"",
			fmt.Sprintf(refusal, tcp, `"exec"`)},
		{"TCP allowed", "allow_unauthenticated_listener = true", `gateway_domains = ["voice.example.com"]` + "\nbackend = \"exec\"", ""},
		{"TCP allowed, spool", "allow_unauthenticated_listener = true", `gateway_domains = ["voice.example.com"]`, ""},
		{"unix 0660", fmt.Sprintf("listen = \"unix:%s\"", sock), `gateway_domains = ["voice.example.com"]` + "\nbackend = \"exec\"", ""},
		{"unix 0660, spool", fmt.Sprintf("listen = \"unix:%s\"", sock), `gateway_domains = ["voice.example.com"]`, ""},
		{"unix 0666", fmt.Sprintf("listen = \"unix:%s\"\nsocket_mode = \"0666\"", sock), `gateway_domains = ["voice.example.com"]` + "\nbackend = \"exec\"",
			fmt.Sprintf(refusal, "socket mode 0666 lets every local user connect to "+sock, `"exec"`)},
		{"unix 0666, spool", fmt.Sprintf("listen = \"unix:%s\"\nsocket_mode = \"0666\"", sock), `gateway_domains = ["voice.example.com"]`,
			fmt.Sprintf(refusal, "socket mode 0666 lets every local user connect to "+sock, `"spool": an external bridge calls its jobs`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, fmt.Sprintf("[milter]\n%s\n[telephony]\n%s\n[telephony.exec]\ncommand = \"/bin/true\"\n", tc.milter, tc.telephony))
			want := ""
			if tc.want != "" {
				want = "1 problem(s):\n  " + tc.want
			}
			loadWant(t, path, want)
		})
	}
}

// TestExposureWarnings: what is allowed but exposed is logged at start.
func TestExposureWarnings(t *testing.T) {
	o := defaultOptions()
	if w := exposureWarnings(o); len(w) != 0 {
		t.Errorf("defaults: %q", w)
	}
	o.milter.Listen = milter.Address{Network: "unix", Addr: "/run/vpim-milter/milter.sock"}
	o.milter.Socket.Mode = 0o666
	o.metrics.Listen = ":9895"
	o.telephony.Backend, o.telephony.MaxAudio = "exec", 20*time.Minute
	want := []string{
		"milter.socket_mode 0666 is wider than 0660 (hint: 0660 with socket_group set to the MTA's group)",
		`metrics.listen = ":9895" listens on all interfaces: /metrics is reachable from other hosts (hint: "127.0.0.1:9895")`,
		"telephony.max_audio (20m0s) is not shorter than attempt_timeout (10m0s): the longest messages would be cut and fail",
	}
	if got := exposureWarnings(o); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	o.metrics.Listen = "[::]:9895"
	if got := exposureWarnings(o); len(got) != 3 || !strings.Contains(got[1], "all interfaces") {
		t.Errorf("[::]: %q", got)
	}
	o.metrics.Listen = "127.0.0.1:9895"
	if got := exposureWarnings(o); len(got) != 2 {
		t.Errorf("loopback metrics: %q", got)
	}
}
