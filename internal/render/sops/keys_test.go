package sops_test

import (
	"strings"
	"testing"

	"soll.dev/internal/render/sops"
	"soll.dev/internal/render/sops/sopstest"
)

func TestKeysRefused(t *testing.T) {
	secret, public := sopstest.NewKey(t)
	truncated := secret[:len(secret)-4]
	tests := []struct {
		name string
		data map[string][]byte
		want string
	}{
		{"empty", map[string][]byte{}, "holds no age secret key"},
		{"comments only", map[string][]byte{"k": []byte("# " + secret + "\n")}, "holds no age secret key"},
		{"malformed key", map[string][]byte{"k": []byte(secret + "\n" + truncated + "\n")}, `data key "k", line 2: malformed age secret key`},
		{"public key", map[string][]byte{"k": []byte(public)}, "not an age secret key"},
		{"plugin", map[string][]byte{"k": []byte("AGE-PLUGIN-YUBIKEY-1QQQQQQ")}, "plugin identities are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sops.FromSecretData(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FromSecretData = %v, want an error saying %q", err, tt.want)
			}
			for _, s := range []string{secret, truncated, secret[len("AGE-SECRET-KEY-1"):][:10], "QQQQQQ"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes key material", err)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	a, publicA := sopstest.NewKey(t)
	b, publicB := sopstest.NewKey(t)
	d, err := sops.New(a+" "+b, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Recipients(), ","); got != publicA+","+publicB {
		t.Errorf("Recipients() = %s", got)
	}
	if _, err := sops.New(); err == nil {
		t.Error("New() without keys succeeded")
	}
}
