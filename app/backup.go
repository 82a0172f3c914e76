package app

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"frontdesk/backup"
	"frontdesk/config"
	"frontdesk/database"
	"frontdesk/integrations/storage"
	"frontdesk/outbox"
)

// newBackup sets up the backup service on its store (see
// openBackupStore).
func newBackup(cfg *config.Config, db *database.DB, log *slog.Logger) (*backup.Service, error) {
	s := &backup.Service{DB: db, Keep: cfg.BackupKeep, Log: log}
	var err error
	if s.Store, s.Prefix, s.TempDir, err = openBackupStore(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// registerBackup declares the scheduled backup on the worker's registry,
// unless FRONTDESK_BACKUP_SCHEDULE is off.
func registerBackup(jobs *outbox.Registry, cfg *config.Config, s *backup.Service) error {
	if cfg.BackupSchedule == "" {
		return nil
	}
	if _, err := outbox.ParseSchedule(cfg.BackupSchedule, nil); err != nil {
		return fmt.Errorf("FRONTDESK_BACKUP_SCHEDULE: %w", err)
	}
	backup.Register(jobs, cfg.BackupSchedule, s)
	return nil
}

// openBackupStore returns where backups go: the backups/ prefix of an S3
// bucket (private objects, never cached), or a local directory, which
// also holds the archive while it is written, so a small /tmp does not
// limit the size of a backup.
func openBackupStore(cfg *config.Config) (backup.Store, string, string, error) {
	bucket := cfg.BackupS3Bucket
	if bucket == "" {
		bucket = cfg.S3Bucket
	}
	if cfg.BackupStore == "s3" || (cfg.BackupStore == "auto" && bucket != "") {
		o := s3Options(cfg, bucket)
		o.CacheControl = "private, no-store"
		s, err := storage.NewS3(o)
		if err != nil {
			return nil, "", "", fmt.Errorf("backup store: %w", err)
		}
		return s, "backups/", "", nil
	}
	dir := cfg.BackupDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "backups")
	}
	l, err := storage.NewLocal(dir, "")
	if err != nil {
		return nil, "", "", fmt.Errorf("backup store (FRONTDESK_BACKUP_DIR): %w", err)
	}
	return l, "", dir, nil
}
