package milter_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/milter"
)

// callbackStage is the protocol stage of each go-milter callback that may read macros.
var callbackStage = map[string]milter.Stage{
	"Connect": milter.StageConnect, "Helo": milter.StageHelo, "MailFrom": milter.StageMail,
	"RcptTo": milter.StageRcpt, "Header": milter.StageEOH, "Headers": milter.StageEOH,
	"BodyChunk": milter.StageEOM, "EndOfMessage": milter.StageEOM,
}

// TestMacroReads: every macro the filter's code reads (a Get or GetEx on a go-milter
// Modifier) is a constant of macros.go and is listed in milter.Macros at the stage of the
// callback that reads it, and every listed macro is read: so the macros New asks the MTA
// for, the snippets provide and the README documents are exactly the ones in use.
func TestMacroReads(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	var decls []*ast.FuncDecl
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			case *ast.FuncDecl:
				decls = append(decls, d)
			}
		}
	}
	read := map[milter.Macro]bool{}
	for _, d := range decls {
		modifiers := map[string]bool{} // parameters of type gomilter.Modifier
		for _, p := range d.Type.Params.List {
			if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Modifier" {
				for _, n := range p.Names {
					modifiers[n.Name] = true
				}
			}
		}
		ast.Inspect(d, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Get" && sel.Sel.Name != "GetEx") {
				return true
			}
			recv, ok := sel.X.(*ast.Ident)
			if !ok || !modifiers[recv.Name] {
				return true
			}
			pos := fset.Position(call.Pos())
			stage, ok := callbackStage[d.Name.Name]
			if !ok {
				t.Errorf("%s: %s reads a macro outside a milter callback", pos, d.Name.Name)
				return true
			}
			id, ok := call.Args[0].(*ast.Ident)
			name, isConst := "", false
			if ok {
				name, isConst = consts[id.Name]
			}
			if !isConst {
				t.Errorf("%s: macro read with %s: use a constant of macros.go", pos, types(call.Args[0]))
				return true
			}
			m := milter.Macro{Name: name, Stage: stage}
			read[m] = true
			if !slices.ContainsFunc(milter.Macros(), func(x milter.Macro) bool { return x.Name == name && x.Stage == stage }) {
				t.Errorf("%s: %s reads %s at %s, which milter.Macros does not list", pos, d.Name.Name, name, stage)
			}
			return true
		})
	}
	for _, m := range milter.Macros() {
		if !read[milter.Macro{Name: m.Name, Stage: m.Stage}] {
			t.Errorf("milter.Macros lists %s at %s, which no callback reads", m.Name, m.Stage)
		}
	}
}

func types(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok {
			return x.Name + "." + sel.Sel.Name
		}
	}
	return fmt.Sprintf("%T", e)
}

// postfixDefaults are Postfix 3.7's milter_*_macros (postconf -d; TestPostfixMacroDefaults
// compares them with the installed Postfix).
var postfixDefaults = map[string]string{
	"milter_connect_macros":       "j {daemon_name} {daemon_addr} v _",
	"milter_helo_macros":          "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	"milter_mail_macros":          "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
	"milter_rcpt_macros":          "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	"milter_data_macros":          "i",
	"milter_end_of_header_macros": "i",
	"milter_end_of_data_macros":   "i",
}

// sendmailDefaults are Sendmail 8.17's confMILTER_MACROS_* (cf/m4/proto.m4).
var sendmailDefaults = map[string]string{
	"confMILTER_MACROS_CONNECT": "j, _, {daemon_name}, {if_name}, {if_addr}",
	"confMILTER_MACROS_HELO":    "{tls_version}, {cipher}, {cipher_bits}, {cert_subject}, {cert_issuer}",
	"confMILTER_MACROS_ENVFROM": "i, {auth_type}, {auth_authen}, {auth_ssf}, {auth_author}, {mail_mailer}, {mail_host}, {mail_addr}",
	"confMILTER_MACROS_ENVRCPT": "{rcpt_mailer}, {rcpt_host}, {rcpt_addr}",
	"confMILTER_MACROS_EOH":     "",
	"confMILTER_MACROS_EOM":     "{msg_id}",
}

var (
	postfixSetting  = map[milter.Stage]string{milter.StageConnect: "milter_connect_macros", milter.StageHelo: "milter_helo_macros", milter.StageMail: "milter_mail_macros", milter.StageRcpt: "milter_rcpt_macros", milter.StageEOH: "milter_end_of_header_macros", milter.StageEOM: "milter_end_of_data_macros"}
	sendmailSetting = map[milter.Stage]string{milter.StageConnect: "confMILTER_MACROS_CONNECT", milter.StageHelo: "confMILTER_MACROS_HELO", milter.StageMail: "confMILTER_MACROS_ENVFROM", milter.StageRcpt: "confMILTER_MACROS_ENVRCPT", milter.StageEOH: "confMILTER_MACROS_EOH", milter.StageEOM: "confMILTER_MACROS_EOM"}
)

// providers are the stages whose macros are still defined at stage s: its own, the
// connection's (connect, helo) and, within a message, those of MAIL (libmilter's scopes:
// smfi_getsymval(3)); RCPT macros hold for their recipient only.
func providers(s milter.Stage) []milter.Stage {
	out := []milter.Stage{s, milter.StageConnect, milter.StageHelo}
	if s == milter.StageRcpt || s == milter.StageEOH || s == milter.StageEOM {
		out = append(out, milter.StageMail)
	}
	return out
}

// TestSnippetMacros: the contrib snippets make Postfix and Sendmail send every macro the
// filter reads at a stage where it is defined when read, by their own settings (the
// snippet's, or the MTA's default where the snippet sets none), so the macros arrive even
// from an MTA that ignores the filter's request in the negotiation.
func TestSnippetMacros(t *testing.T) {
	pf := postfixSnippet(t, "../contrib/postfix/main.cf.snippet")
	sm := sendmailSnippet(t, "../contrib/sendmail/sendmail.mc.snippet")
	for _, m := range milter.Macros() {
		for _, mta := range []struct {
			name    string
			setting map[milter.Stage]string
			values  map[string]string
			defs    map[string]string
		}{{"Postfix", postfixSetting, pf, postfixDefaults}, {"Sendmail", sendmailSetting, sm, sendmailDefaults}} {
			var tried []string
			found := false
			for _, s := range providers(m.Stage) {
				key := mta.setting[s]
				list, ok := mta.values[key]
				if !ok {
					list = mta.defs[key]
				}
				tried = append(tried, key)
				if slices.Contains(macroList(list), m.Name) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s snippet: %s, read at %s, is in none of %s", mta.name, m.Name, m.Stage, strings.Join(tried, ", "))
			}
		}
	}
}

// macroList splits a macro list of either MTA ("i {auth_type}", "i, {auth_type}").
func macroList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

// postfixSnippet reads the "key = value" settings of a main.cf snippet (continuation lines
// joined).
func postfixSnippet(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	last := ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "":
			last = ""
		case (line[0] == ' ' || line[0] == '\t') && last != "":
			out[last] += " " + strings.TrimSpace(line)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not a setting: %q", path, line)
			}
			last = strings.TrimSpace(k)
			out[last] = strings.TrimSpace(v)
		}
	}
	return out
}

var mcDefine = regexp.MustCompile("define\\(`(confMILTER_MACROS_[A-Z]+)', `([^']*)'\\)")

// sendmailSnippet reads the confMILTER_MACROS_* definitions of a sendmail.mc snippet.
func sendmailSnippet(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range mcDefine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	if len(out) == 0 {
		t.Fatalf("%s defines no confMILTER_MACROS_*", path)
	}
	return out
}

// TestPostfixMacroDefaults: the Postfix defaults TestSnippetMacros assumes are those of
// the installed Postfix (skipped without one).
func TestPostfixMacroDefaults(t *testing.T) {
	if _, err := exec.LookPath("postconf"); err != nil {
		t.Skip("postconf not installed")
	}
	for key, want := range postfixDefaults {
		out, err := exec.Command("postconf", "-d", "-h", key).Output()
		if err != nil {
			t.Fatalf("postconf -d %s: %v", key, err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("postconf -d %s = %q, the test assumes %q", key, got, want)
		}
	}
}
