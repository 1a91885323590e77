// Command vulncheck runs govulncheck over soll with a vulnerability
// database built from the golang.org/x/vulndb module (served by the Go
// module proxy, so it works where only the proxy is reachable), and prints
// one line per vulnerability that soll's code reaches.
//
// It fails when code reaches a vulnerability in a required module: those
// are fixed by upgrading the module. Vulnerabilities of the standard library
// are fixed by a newer Go; they fail the run only with -strict-stdlib, since
// the Go release that fixes them may not be available to every build.
//
//	go run ./hack/vulncheck [-strict-stdlib] [packages]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Pinned versions of the scanner and of the database snapshot.
const (
	govulncheck = "golang.org/x/vuln/cmd/govulncheck@v1.9.0"
	vulndb      = "golang.org/x/vulndb"
	vulndbRev   = "v0.0.0-20261105234957-e22db6528018"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(1)
	}
}

func run() error {
	strictStdlib := flag.Bool("strict-stdlib", false, "fail on reachable vulnerabilities of the standard library too")
	cacheDir := flag.String("cache", filepath.Join(userCache(), "soll", "vulndb-"+vulndbRev), "where the built database is kept")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	db, err := database(*cacheDir)
	if err != nil {
		return err
	}
	args := append([]string{"run", govulncheck, "-db", "file://" + db, "-format", "json"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start govulncheck: %w", err)
	}
	found, perr := parse(out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	if perr != nil {
		return perr
	}
	return report(os.Stdout, found, *strictStdlib)
}

// database returns the directory of a govulncheck database built from the
// pinned x/vulndb snapshot, building it once.
func database(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "index", "db.json")); err == nil {
		return dir, nil
	}
	src, err := exec.Command("go", "mod", "download", "-json", vulndb+"@"+vulndbRev).Output()
	if err != nil {
		return "", fmt.Errorf("download %s@%s: %w", vulndb, vulndbRev, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(src, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("download %s@%s: %s", vulndb, vulndbRev, mod.Error)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	build := exec.Command("go", "run", vulndb+"/cmd/indexdb@"+vulndbRev, "-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", tmp)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build the vulnerability database: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, dir)
}

// finding is one vulnerability that soll's code reaches.
type finding struct {
	id, module, fixed, summary string
	// calls are the first frames of the traces: soll's functions that
	// lead to the vulnerable symbol.
	calls map[string]bool
}

type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Package  string `json:"package"`
			Function string `json:"function"`
			Receiver string `json:"receiver"`
			Position *struct {
				Filename string `json:"filename"`
				Line     int    `json:"line"`
			} `json:"position"`
		} `json:"trace"`
	} `json:"finding"`
}

// parse reads govulncheck's JSON stream: a finding is reachable when its
// trace starts at a function (not only an imported package or module).
func parse(r io.Reader) (map[string]*finding, error) {
	summaries := map[string]string{}
	found := map[string]*finding{}
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read govulncheck's output: %w", err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		f := m.Finding
		if f == nil || len(f.Trace) == 0 || f.Trace[0].Function == "" {
			continue
		}
		vuln := f.Trace[0]
		x := found[f.OSV]
		if x == nil {
			x = &finding{id: f.OSV, module: vuln.Module, fixed: f.FixedVersion, calls: map[string]bool{}}
			found[f.OSV] = x
		}
		last := f.Trace[len(f.Trace)-1]
		call := last.Package + "." + last.Function
		if last.Position != nil {
			call = fmt.Sprintf("%s (%s:%d)", call, last.Position.Filename, last.Position.Line)
		}
		x.calls[call] = true
	}
	for id, x := range found {
		x.summary = summaries[id]
	}
	return found, nil
}

func report(w io.Writer, found map[string]*finding, strictStdlib bool) error {
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var modules, stdlib int
	for _, id := range ids {
		x := found[id]
		where := "module " + x.module
		if x.module == "stdlib" {
			where = "standard library"
			stdlib++
		} else {
			modules++
		}
		if _, err := fmt.Fprintf(w, "%s  %s, fixed in %s: %s\n", x.id, where, x.fixed, x.summary); err != nil {
			return err
		}
		calls := make([]string, 0, len(x.calls))
		for c := range x.calls {
			calls = append(calls, c)
		}
		sort.Strings(calls)
		if len(calls) > 3 {
			calls = append(calls[:3], fmt.Sprintf("and %d more", len(calls)-3))
		}
		if _, err := fmt.Fprintf(w, "    reached from %s\n", strings.Join(calls, "; ")); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(w, "vulncheck: %d reachable vulnerabilities in required modules, %d in the standard library\n", modules, stdlib); err != nil {
		return err
	}
	switch {
	case modules > 0:
		return fmt.Errorf("%d reachable vulnerabilities in required modules: upgrade them to the fixed versions", modules)
	case stdlib > 0 && strictStdlib:
		return fmt.Errorf("%d reachable vulnerabilities in the standard library: build with a Go release that fixes them", stdlib)
	}
	return nil
}

func userCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return d
	}
	return os.TempDir()
}
