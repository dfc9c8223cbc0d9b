package models

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"gorm.io/gorm"
)

// KeyPair is an SSH public key a project injects into its instances. The
// private key of a generated pair is returned once and never stored.
type KeyPair struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	UserID      string    `json:"user_id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
}

func (KeyPair) TableName() string { return "keypairs" }

// KeyPairInput imports PublicKey, or generates a pair when it is empty.
type KeyPairInput struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// NewKeyPair is a created key pair; PrivateKey is set only when generated.
type NewKeyPair struct {
	KeyPair
	PrivateKey string `json:"private_key,omitempty"`
}

// CreateKeyPair imports or generates a key pair in the caller's project,
// counted against the key pair quota.
func (s *Store) CreateKeyPair(ctx context.Context, c Caller, in KeyPairInput) (NewKeyPair, error) {
	in.Name = strings.TrimSpace(in.Name)
	p := Problems{}
	p.Slug("name", in.Name)
	var out NewKeyPair
	var pub ssh.PublicKey
	if strings.TrimSpace(in.PublicKey) == "" {
		pk, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return out, fmt.Errorf("generate key: %w", err)
		}
		if pub, err = ssh.NewPublicKey(pk); err != nil {
			return out, fmt.Errorf("encode public key: %w", err)
		}
		block, err := ssh.MarshalPrivateKey(priv, in.Name)
		if err != nil {
			return out, fmt.Errorf("encode private key: %w", err)
		}
		out.PrivateKey = string(pem.EncodeToMemory(block))
	} else {
		if len(in.PublicKey) > 16384 {
			p.Add("public_key", "is too long")
		} else {
			var err error
			if pub, _, _, _, err = ssh.ParseAuthorizedKey([]byte(in.PublicKey)); err != nil {
				p.Add("public_key", "is not an OpenSSH public key (ssh-ed25519, ssh-rsa or ecdsa-sha2-… followed by base64)")
			} else if pub.Type() == ssh.KeyAlgoRSA {
				if ck, ok := pub.(ssh.CryptoPublicKey); ok {
					if rk, ok := ck.CryptoPublicKey().(interface{ Size() int }); ok && rk.Size()*8 < 2048 {
						p.Add("public_key", "RSA keys must have at least 2048 bits")
					}
				}
			}
		}
	}
	if err := p.Err(); err != nil {
		return out, err
	}
	out.KeyPair = KeyPair{ID: newID(), ProjectID: c.ProjectID, UserID: c.UserID, Name: in.Name,
		Type: pub.Type(), PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Fingerprint: ssh.FingerprintSHA256(pub), CreatedAt: s.now()}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockProject(tx, c.ProjectID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, c.ProjectID, Usage{KeyPairs: 1}); err != nil {
			return err
		}
		if err := tx.Create(&out.KeyPair).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return Invalid("name", "a key pair with this name exists in the project")
			}
			return fmt.Errorf("insert key pair: %w", err)
		}
		return nil
	})
	return out, err
}

// ListKeyPairs lists the project's key pairs by name.
func (s *Store) ListKeyPairs(ctx context.Context, c Caller) ([]KeyPair, error) {
	var out []KeyPair
	if err := s.db.WithContext(ctx).Where("project_id = ?", c.ProjectID).Order("name").Limit(MaxPageSize).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list key pairs: %w", err)
	}
	return out, nil
}

// GetKeyPair finds one of the project's key pairs by ID or name.
func (s *Store) GetKeyPair(ctx context.Context, c Caller, idOrName string) (KeyPair, error) {
	return s.getKeyPair(s.db.WithContext(ctx), c, idOrName)
}

func (s *Store) getKeyPair(tx *gorm.DB, c Caller, idOrName string) (KeyPair, error) {
	q := tx.Where("keypairs.project_id = ?", c.ProjectID)
	return takeRef[KeyPair](byRef(q, "keypairs", idOrName), "key pair", idOrName)
}

// DeleteKeyPair removes a key pair. Instances keep the key they booted with.
func (s *Store) DeleteKeyPair(ctx context.Context, c Caller, idOrName string) error {
	k, err := s.GetKeyPair(ctx, c, idOrName)
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Where("id = ? AND project_id = ?", k.ID, c.ProjectID).Delete(&KeyPair{}).Error; err != nil {
		return fmt.Errorf("delete key pair: %w", err)
	}
	return nil
}
