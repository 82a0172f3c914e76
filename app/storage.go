package app

import (
	"context"
	"path/filepath"

	"frontdesk/config"
	"frontdesk/integrations/storage"
)

// openStorage returns the media store: S3 when a bucket is configured,
// else local disk under <data dir>/media served at /media/.
func openStorage(_ context.Context, cfg *config.Config) (storage.Store, error) {
	if cfg.S3Bucket != "" {
		o := s3Options(cfg, cfg.S3Bucket)
		o.BaseURL = cfg.MediaBaseURL
		return storage.NewS3(o)
	}
	base := cfg.MediaBaseURL
	if base == "" {
		base = "/media"
	}
	return storage.NewLocal(filepath.Join(cfg.DataDir, "media"), base)
}

// s3Options are the configured S3 connection settings (FRONTDESK_S3_*) for
// bucket; media and backups share them.
func s3Options(cfg *config.Config, bucket string) storage.S3Options {
	return storage.S3Options{
		Bucket: bucket, Region: cfg.S3Region, Endpoint: cfg.S3Endpoint,
		AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey,
		PathStyle: cfg.S3PathStyle,
	}
}
