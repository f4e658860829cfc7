package main

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// optionFields lists the leaf fields of an Options type as "pkg.Path",
// descending into the nested ...Options structs.
func optionFields(pkg string, t reflect.Type) []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Type.Kind() == reflect.Struct && (strings.HasSuffix(f.Type.Name(), "Options") || f.Type == reflect.TypeFor[profile.Limits]()) {
				walk(prefix+f.Name+".", f.Type)
				continue
			}
			out = append(out, pkg+"."+prefix+f.Name)
		}
	}
	walk("", t)
	return out
}

// configKeys lists the TOML keys of Config with the Go type of each.
func configKeys() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("toml")
			if tag == "" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(prefix+tag+".", f.Type)
				continue
			}
			out[prefix+tag] = f.Type
		}
	}
	walk("", reflect.TypeFor[Config]())
	return out
}

// TestOptionKeys: every field of every package's Options and every key of
// the file has exactly one row in optionKeys, and no row names a field or
// key that does not exist.
func TestOptionKeys(t *testing.T) {
	var fields []string
	for _, o := range []struct {
		pkg string
		t   reflect.Type
	}{{"milter", reflect.TypeFor[milter.Options]()}, {"profile", reflect.TypeFor[profile.Options]()},
		{"codec", reflect.TypeFor[codec.Options]()}, {"telephony", reflect.TypeFor[telephony.Options]()},
		{"promtext", reflect.TypeFor[promtext.Options]()}} {
		fields = append(fields, optionFields(o.pkg, o.t)...)
	}
	keys := configKeys()
	rowFields, rowKeys := map[string]bool{}, map[string]bool{}
	for _, r := range optionKeys() {
		if r.field != "" {
			if rowFields[r.field] {
				t.Errorf("field %s has two rows", r.field)
			}
			rowFields[r.field] = true
			if !slices.Contains(fields, r.field) {
				t.Errorf("row for %s: no such Options field", r.field)
			}
		}
		if r.key != "" {
			rowKeys[r.key] = true
			if keys[r.key] == nil {
				t.Errorf("row for %s: no such configuration key", r.key)
			}
		}
	}
	for _, f := range fields {
		if !rowFields[f] {
			t.Errorf("Options field %s has no row in optionKeys (give it a key, or \"\" and say why)", f)
		}
	}
	for k := range keys {
		if !rowKeys[k] {
			t.Errorf("configuration key %s has no row in optionKeys", k)
		}
	}
}

// leafValues flattens o into "pkg.Path" → value for comparison.
func leafValues(o options) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Type.Kind() == reflect.Struct && (strings.HasSuffix(f.Type.Name(), "Options") || f.Type == reflect.TypeFor[profile.Limits]()) {
				walk(prefix+f.Name+".", v.Field(i))
				continue
			}
			out[prefix+f.Name] = v.Field(i).Interface()
		}
	}
	walk("milter.", reflect.ValueOf(o.milter))
	walk("profile.", reflect.ValueOf(o.profile))
	walk("codec.", reflect.ValueOf(o.codec))
	walk("telephony.", reflect.ValueOf(o.telephony))
	walk("promtext.", reflect.ValueOf(o.metrics))
	return out
}

// TestOptionKeysMapping: setting each key in a file changes exactly the
// fields its rows name, so the table says what options and configFrom do.
func TestOptionKeysMapping(t *testing.T) {
	special := map[string]string{
		"milter.listen":                    `"inet:9999@127.0.0.1"`,
		"milter.socket_mode":               `"0600"`,
		"profile.targets":                  `{ "a.example" = "vpim1" }`,
		"milter.mode":                      `"report"`,
		"milter.target_modes":              `{ ivm = "report" }`,
		"milter.stamp":                     `false`,
		"milter.authserv_id":               `"mx.changed.example"`,
		"milter.on.private_to_non_capable": `"quarantine"`,
		"milter.on.private_forwarded":      `"tag"`,
		"milter.on.unconvertible_audio":    `"quarantine"`,
	}
	sample := map[reflect.Type]string{
		reflect.TypeFor[string]():     `"changed"`,
		reflect.TypeFor[duration]():   `"7s"`,
		reflect.TypeFor[byteSize]():   `12345`,
		reflect.TypeFor[int]():        `77`,
		reflect.TypeFor[bool]():       `true`,
		reflect.TypeFor[[]string]():   `["changed"]`,
		reflect.TypeFor[[]duration](): `["7s"]`,
		reflect.TypeFor[rateText]():   `"9/9m"`,
	}
	base := mustOptions(t, ptr(defaultConfig()))
	before := leafValues(base)
	want := map[string][]string{}
	for _, r := range optionKeys() {
		if r.key != "" && r.field != "" {
			want[r.key] = append(want[r.key], r.field)
		}
	}
	for key, typ := range configKeys() {
		if strings.HasPrefix(key, "log.") || key == "telephony.sip.password_file" {
			continue // the command's own; the password file is read by readSIPPassword (TestSIPPasswordFile)
		}
		val, ok := special[key]
		if !ok {
			val, ok = sample[typ]
		}
		if !ok {
			t.Errorf("%s: no sample value for %v", key, typ)
			continue
		}
		section, name, _ := strings.Cut(key, ".")
		if i := strings.LastIndex(key, "."); strings.Count(key, ".") == 2 {
			section, name = key[:i], key[i+1:]
		}
		cfg := defaultConfig()
		if _, err := toml.Decode(fmt.Sprintf("[%s]\n%s = %s\n", section, name, val), &cfg); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		after := leafValues(mustOptions(t, &cfg))
		var changed []string
		for f, v := range after {
			if !reflect.DeepEqual(v, before[f]) {
				changed = append(changed, f)
			}
		}
		slices.Sort(changed)
		w := slices.Sorted(slices.Values(want[key]))
		if !slices.Equal(changed, w) {
			t.Errorf("%s = %s changes %v, the table says %v", key, val, changed, w)
		}
	}
}

// TestKeyOf: field paths with list indexes and map keys become key paths.
func TestKeyOf(t *testing.T) {
	for _, tc := range []struct{ pkg, path, want string }{
		{"milter", "ReadTimeout", "milter.read_timeout"},
		{"milter", "Socket.Mode", "milter.socket_mode"},
		{"telephony", "SIP.Trunk", "telephony.sip.trunk"},
		{"telephony", "OutdialAllow[2]", "telephony.outdial_allow[2]"},
		{"telephony", "Retry[0]", "telephony.retry[0]"},
		{"telephony", "DSN.SMTPAddr", "dsn.smtp"},
		{"profile", "Targets.vm.example.net", "profile.targets.vm.example.net"},
		{"profile", "GatewayDomains", "telephony.gateway_domains"},
		{"promtext", "Listen", "metrics.listen"},
	} {
		if got, ok := keyOf(tc.pkg, tc.path); !ok || got != tc.want {
			t.Errorf("keyOf(%s, %s) = %s, %v; want %s", tc.pkg, tc.path, got, ok, tc.want)
		}
	}
	if got, ok := keyOf("telephony", "Poll"); ok {
		t.Errorf("Poll has key %s", got)
	}
}
