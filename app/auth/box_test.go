package auth

import "testing"

func TestBox(t *testing.T) {
	b := Box{Key: []byte("master")}
	sealed, err := b.Seal("wx-api-v3-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed); err != nil || got != "wx-api-v3-key-0123456789" {
		t.Errorf("Open(Seal(x)) = %q, %v", got, err)
	}
	again, _ := b.Seal("wx-api-v3-key-0123456789")
	if again == sealed {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if _, err := (Box{Key: []byte("other")}).Open(sealed); err != ErrUnseal {
		t.Errorf("Open with another key = %v, want ErrUnseal", err)
	}
	if _, err := b.Open(sealed[:len(sealed)-2] + "AA"); err != ErrUnseal {
		t.Errorf("Open of a tampered value = %v, want ErrUnseal", err)
	}
	if got := Mask("abcdef123456"); got != "••••••••3456" {
		t.Errorf("Mask = %q", got)
	}
}
