package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Box seals secrets kept in the database (channel credentials, business systems' keys)
// with AES-256-GCM under a key derived from the master secret, so that a copy of the
// database alone reveals none of them.
type Box struct {
	Key []byte // any length; hashed to 32 bytes
}

const sealedPrefix = "v1:"

// ErrUnseal is returned for a sealed value that does not open with this key.
var ErrUnseal = errors.New("auth: sealed value does not open")

func (b Box) aead() (cipher.AEAD, error) {
	k := sha256.Sum256(b.Key)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plain; the result is printable and starts with "v1:".
func (b Box) Seal(plain string) (string, error) {
	g, err := b.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// Open decrypts a value made by Seal.
func (b Box) Open(sealed string) (string, error) {
	if !strings.HasPrefix(sealed, sealedPrefix) {
		return "", ErrUnseal
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed[len(sealedPrefix):])
	if err != nil {
		return "", ErrUnseal
	}
	g, err := b.aead()
	if err != nil {
		return "", err
	}
	if len(raw) < g.NonceSize() {
		return "", ErrUnseal
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], nil)
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

// Mask shows the last four characters of a secret and hides the rest.
func Mask(secret string) string {
	if len(secret) <= 4 {
		return strings.Repeat("•", len(secret))
	}
	return strings.Repeat("•", 8) + secret[len(secret)-4:]
}
