package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// LoginInput is a login attempt, with where it came from for the audit log.
type LoginInput struct {
	Username   string
	Password   string
	RemoteAddr string
	RequestID  string
}

// dummyHash is compared against when the user does not exist, so an unknown
// name takes as long to refuse as a wrong password.
type dummyHash struct {
	once sync.Once
	hash []byte
}

func (d *dummyHash) get(cost int) []byte {
	d.once.Do(func() {
		d.hash, _ = bcrypt.GenerateFromPassword([]byte("stratus-dummy-password"), cost)
	})
	return d.hash
}

// Login checks a username and password. Every refusal — unknown user, wrong
// password, disabled or locked account — returns the same ErrUnauthenticated,
// and each is audited with its true reason. After LockoutThreshold wrong
// passwords in a row the account is locked for LockoutDuration.
func (s *Store) Login(ctx context.Context, in LoginInput) (User, error) {
	return s.login(ctx, in, nil)
}

// login checks the password and then, before recording the login as a
// success, check (when given): a login for a project the user has no role
// on is audited as the failure it is.
func (s *Store) login(ctx context.Context, in LoginInput, check func(User) error) (User, error) {
	db := s.db.WithContext(ctx)
	c := Caller{UserName: in.Username, RemoteAddr: in.RemoteAddr, RequestID: in.RequestID}
	fail := func(u User, reason string) (User, error) {
		c.UserID = u.ID
		if err := s.audit(db, c, AuditLogin, OutcomeFailure, "user", u.ID, in.Username, reason); err != nil {
			return User{}, err
		}
		return User{}, ErrUnauthenticated
	}
	var u User
	err := db.Where("name = ?", in.Username).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.dummy.get(s.opts.BcryptCost), []byte(in.Password))
		return fail(User{}, "unknown user")
	} else if err != nil {
		return User{}, fmt.Errorf("look up user: %w", err)
	}
	now := s.now()
	if u.Locked(now) {
		_ = bcrypt.CompareHashAndPassword(s.dummy.get(s.opts.BcryptCost), []byte(in.Password))
		return fail(u, "account locked")
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(in.Password)) != nil {
		if err := s.recordFailedLogin(ctx, c, u); err != nil {
			return User{}, err
		}
		return fail(u, "wrong password")
	}
	if !u.Enabled {
		return fail(u, "user disabled")
	}
	if check != nil {
		if err := check(u); err != nil {
			c.UserID = u.ID
			if aerr := s.audit(db, c, AuditLogin, OutcomeFailure, "user", u.ID, in.Username, err.Error()); aerr != nil {
				return User{}, aerr
			}
			return User{}, err
		}
	}
	c.UserID = u.ID
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", u.ID).
			Updates(map[string]any{"failed_logins": 0, "locked_until": nil, "last_login_at": now}).Error; err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		return s.audit(tx, c, AuditLogin, OutcomeSuccess, "user", u.ID, u.Name, "")
	})
	u.LastLoginAt = &now
	return u, err
}

// recordFailedLogin counts a wrong password and locks the account when the
// count reaches the threshold. The increment is done by the database so
// concurrent attempts cannot lose counts.
func (s *Store) recordFailedLogin(ctx context.Context, c Caller, u User) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", u.ID).
			Update("failed_logins", gorm.Expr("failed_logins + 1")).Error; err != nil {
			return fmt.Errorf("count failed login: %w", err)
		}
		var failed int
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Pluck("failed_logins", &failed).Error; err != nil {
			return fmt.Errorf("read failed logins: %w", err)
		}
		if failed < s.opts.LockoutThreshold {
			return nil
		}
		until := s.now().Add(s.opts.LockoutDuration)
		if err := tx.Model(&User{}).Where("id = ?", u.ID).
			Updates(map[string]any{"failed_logins": 0, "locked_until": until}).Error; err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		c.UserID = u.ID
		return s.audit(tx, c, AuditLockout, OutcomeSuccess, "user", u.ID, u.Name,
			fmt.Sprintf("%d failed logins; locked until %s", failed, until.Format("2006-01-02 15:04:05 UTC")))
	})
}
