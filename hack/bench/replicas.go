package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sollv1 "soll.dev/api/v1alpha1"
)

// failoverResult is what the failover phase measured: the time from the
// SIGKILL of one replica until every app was compared again by a live
// replica, and until those of the live replicas were.
type failoverResult struct {
	replicas   int
	victimApps int           // apps whose last sync the killed replica ran
	owners     []int         // apps whose last sync each replica ran, in start order
	others     int           // apps synced by no replica of this run (none expected)
	all        time.Duration // every app compared again
	live       time.Duration // every app of the live replicas compared again
	done       int           // apps compared again (all of them unless the timeout ended the wait)
}

// allApps lists the Applications page by page.
func (b *bench) allApps(ctx context.Context) ([]sollv1.Application, error) {
	var out []sollv1.Application
	cont := ""
	for {
		var l sollv1.ApplicationList
		if err := b.kc.List(ctx, &l, client.InNamespace(sollNamespace), client.Limit(500), client.Continue(cont)); err != nil {
			return nil, err
		}
		out = append(out, l.Items...)
		if cont = l.Continue; cont == "" {
			return out, nil
		}
	}
}

// comparedAgain reports whether a's refresh request is handled and its
// comparison recorded at or after since: the controller removes the
// refresh annotation once it handled it, and a refreshed comparison
// always writes status.reconciledAt (in whole seconds, so since is
// rounded down).
func comparedAgain(a *sollv1.Application, since time.Time) bool {
	if _, pending := a.Annotations[sollv1.RefreshAnnotation]; pending {
		return false
	}
	at := a.Status.ReconciledAt
	return at != nil && !at.Time.Before(since.Truncate(time.Second))
}

// countOwners counts, for each identity in order, the apps whose
// operation it ran (status.operationState.controller), and the apps
// none of them ran.
func countOwners(apps []sollv1.Application, identities []string) (owners []int, others int) {
	index := map[string]int{}
	for i, id := range identities {
		index[id] = i
	}
	owners = make([]int, len(identities))
	for i := range apps {
		st := apps[i].Status.OperationState
		if st == nil {
			others++
			continue
		}
		if j, ok := index[st.Controller]; ok {
			owners[j]++
		} else {
			others++
		}
	}
	return owners, others
}

// failover kills the first replica with SIGKILL, asks every app for a
// refresh right after, and times until every app was compared again, by
// a live replica: the killed one's apps wait until its Lease expired.
func (b *bench) failover(ctx context.Context, ctls []controllerRun) error {
	res := &failoverResult{replicas: len(ctls)}
	b.report.failover = res
	var ids []string
	for _, c := range ctls {
		ids = append(ids, c.(*childController).identity)
	}
	apps, err := b.allApps(ctx)
	if err != nil {
		return err
	}
	res.owners, res.others = countOwners(apps, ids)
	victim := ctls[0].(*childController)
	victimApps := map[string]bool{}
	for i := range apps {
		if st := apps[i].Status.OperationState; st != nil && st.Controller == victim.identity {
			victimApps[apps[i].Name] = true
		}
	}
	res.victimApps = len(victimApps)
	fmt.Printf("    syncs run by each replica: %v (%s first)\n", res.owners, victim.identity)

	b.step("soll: SIGKILL of replica %s (%d apps), then a refresh of every app", victim.identity, res.victimApps)
	victim.killed = true
	if err := victim.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill replica %s: %w", victim.identity, err)
	}
	<-victim.exited
	killed := time.Now()
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"normal"}}}`, sollv1.RefreshAnnotation))
	err = parallel(ctx, 16, b.workload.apps, func(ctx context.Context, a app) error {
		obj := &sollv1.Application{}
		obj.Name, obj.Namespace = a.name, sollNamespace
		if err := b.kc.Patch(ctx, obj, patch); err != nil {
			return fmt.Errorf("refresh application %s: %w", a.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("    refresh requested for %d apps %s after the kill\n", len(b.workload.apps), time.Since(killed).Round(time.Millisecond))

	n := len(b.workload.apps)
	var lastPrint time.Time
	for {
		apps, err := b.allApps(ctx)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Printf("    list applications: %v\n", err)
		} else {
			done, liveDone := 0, 0
			for i := range apps {
				if comparedAgain(&apps[i], killed) {
					done++
					if !victimApps[apps[i].Name] {
						liveDone++
					}
				}
			}
			res.done = done
			if res.live == 0 && liveDone >= n-res.victimApps {
				res.live = now.Sub(killed)
			}
			if done >= n {
				res.all = now.Sub(killed)
				fmt.Printf("    %6s  all %d compared again\n", res.all.Round(100*time.Millisecond), n)
				return nil
			}
			if now.Sub(lastPrint) >= 5*time.Second {
				fmt.Printf("    %6s  compared again: %d of %d (%d of the killed replica's %d)\n", now.Sub(killed).Round(time.Second), done, n, done-liveDone, res.victimApps)
				lastPrint = now
			}
		}
		if err := checkRunning(ctls); err != nil {
			return err
		}
		if now.Sub(killed) > b.cfg.timeout {
			res.all = now.Sub(killed)
			fmt.Printf("    only %d of %d compared again after %s\n", res.done, n, b.cfg.timeout)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
