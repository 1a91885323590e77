// Command localcluster builds, starts, inspects and stops a local Kubernetes
// control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok) for soll's tests and playground.
//
//	localcluster build
//	localcluster up     --dir DIR [--nodes N]
//	localcluster status --dir DIR
//	localcluster down   --dir DIR
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"soll.dev/localcluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

const usage = `usage: localcluster COMMAND [flags]

commands:
  build                       build the control-plane binaries (cached by pinned versions)
  up     --dir DIR [--nodes N] start a cluster; writes DIR/kubeconfig
  status --dir DIR [--json]    show whether the cluster in DIR runs and is ready
  down   --dir DIR             stop the cluster in DIR and remove DIR
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage) // the error returned says what is wrong
		return errors.New("no command given")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "cluster directory (state, logs, kubeconfig)")
	nodes := fs.Int("nodes", 2, "number of simulated nodes")
	asJSON := fs.Bool("json", false, "print status as JSON")
	binRoot := fs.String("bin-root", "", "directory for built binaries (default: localcluster/bin)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	needDir := func() error {
		if *dir == "" {
			return fmt.Errorf("%s needs --dir DIR", args[0])
		}
		return nil
	}
	build := localcluster.BuildOptions{BinRoot: *binRoot, Log: stdout}
	switch args[0] {
	case "build":
		binDir, err := localcluster.Build(ctx, build)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, "binaries in", binDir)
		return err
	case "up":
		if err := needDir(); err != nil {
			return err
		}
		_, err := localcluster.Up(ctx, localcluster.Options{Dir: *dir, Nodes: *nodes, Build: build, Log: stdout})
		return err
	case "status":
		if err := needDir(); err != nil {
			return err
		}
		s, err := localcluster.GetStatus(ctx, *dir)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(s)
		}
		for _, c := range s.Components {
			state := "running"
			if !c.Running {
				state = "stopped"
			}
			if _, err := fmt.Fprintf(stdout, "%-26s pid %-8d %s\n", c.Name, c.PID, state); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(stdout, "server      %s\nkubeconfig  %s\nnodes Ready %d/%d\n", s.Server, s.Kubeconfig, s.ReadyNodes, s.Nodes); err != nil {
			return err
		}
		if !s.Ready {
			return fmt.Errorf("cluster in %s is not ready: %s", s.Dir, s.Problem)
		}
		_, err = fmt.Fprintln(stdout, "ready")
		return err
	case "down":
		if err := needDir(); err != nil {
			return err
		}
		if err := localcluster.Down(*dir); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, "stopped and removed", *dir)
		return err
	default:
		_, _ = fmt.Fprint(stderr, usage) // the error returned says what is wrong
		return fmt.Errorf("unknown command %q", args[0])
	}
}
