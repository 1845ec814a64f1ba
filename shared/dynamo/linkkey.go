package dynamo

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
)

// linkKeyItem holds the public key that checks signed unsubscribe links
// (closeloop.ContactKey.LinkPublicKey): public, so the survey page checks
// links without holding any secret; whoever could change it could only
// break links, or make forged ones pass for unsubscribing someone.
type linkKeyItem struct {
	PK  string `dynamodbav:"pk"` // LINKKEY
	SK  string `dynamodbav:"sk"` // LINKKEY
	Key string `dynamodbav:"public_key"`
}

// PublishLinkKey stores pub as the key that checks unsubscribe links.
func (s *Store) PublishLinkKey(ctx context.Context, pub ed25519.PublicKey) error {
	if err := s.put(ctx, linkKeyItem{PK: "LINKKEY", SK: "LINKKEY", Key: base64.StdEncoding.EncodeToString(pub)}, "", nil, nil); err != nil {
		return fmt.Errorf("publish link key: %w", err)
	}
	return nil
}

// LinkKey returns the key that checks unsubscribe links, or an error
// wrapping closeloop.ErrNotFound before any was published.
func (s *Store) LinkKey(ctx context.Context) (ed25519.PublicKey, error) {
	var it linkKeyItem
	if err := s.get(ctx, "LINKKEY", "LINKKEY", &it); err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(it.Key)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("link key: stored key is not an Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}
