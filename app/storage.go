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
		return storage.NewS3(storage.S3Options{
			Bucket: cfg.S3Bucket, Region: cfg.S3Region, Endpoint: cfg.S3Endpoint,
			AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey,
			PathStyle: cfg.S3PathStyle, BaseURL: cfg.MediaBaseURL,
		})
	}
	base := cfg.MediaBaseURL
	if base == "" {
		base = "/media"
	}
	return storage.NewLocal(filepath.Join(cfg.DataDir, "media"), base)
}
