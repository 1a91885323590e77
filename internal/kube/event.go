package kube

import "unicode/utf8"

// maxEventNote is the longest note, in bytes, the events API accepts; it
// rejects longer events outright.
const maxEventNote = 1024

// EventNote shortens note to what the events API accepts: a sync that
// fails on many objects at once (an unreachable API server) joins all
// their errors, and an audited request may carry a long message.
func EventNote(note string) string {
	if len(note) <= maxEventNote {
		return note
	}
	const more = "…"
	cut := maxEventNote - len(more)
	for cut > 0 && !utf8.RuneStart(note[cut]) {
		cut--
	}
	return note[:cut] + more
}
