package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Options configure an S3 store.
type S3Options struct {
	Bucket   string
	Region   string
	Endpoint string // empty for AWS
	// AccessKeyID and SecretAccessKey are static credentials; leave them
	// empty to use the SDK's default chain (environment, instance role).
	AccessKeyID     string
	SecretAccessKey string
	PathStyle       bool
	// BaseURL is the public URL of the bucket's objects (a CDN); empty
	// for the bucket's own URL.
	BaseURL string
	// HTTPClient overrides the SDK's HTTP client (tests).
	HTTPClient aws.HTTPClient
	// CacheControl is stored with every object; empty for media's
	// "public, max-age=31536000, immutable" (keys are never reused).
	// Backups, which are private, set "private, no-store".
	CacheControl string
}

// S3 stores objects in an S3 bucket.
type S3 struct {
	client  *s3.Client
	presign *s3.PresignClient
	opts    S3Options
}

// NewS3 returns a store on the bucket.
func NewS3(opts S3Options) (*S3, error) {
	if opts.Bucket == "" {
		return nil, errors.New("storage: S3 bucket is required")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	cfg := aws.Config{Region: opts.Region}
	if opts.AccessKeyID != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")
	}
	if opts.HTTPClient != nil {
		cfg.HTTPClient = opts.HTTPClient
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = opts.PathStyle
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	if opts.BaseURL == "" {
		switch {
		case opts.Endpoint != "" && opts.PathStyle:
			opts.BaseURL = strings.TrimSuffix(opts.Endpoint, "/") + "/" + opts.Bucket
		case opts.Endpoint != "":
			u, err := url.Parse(opts.Endpoint)
			if err != nil {
				return nil, fmt.Errorf("storage: S3 endpoint: %w", err)
			}
			opts.BaseURL = u.Scheme + "://" + opts.Bucket + "." + u.Host
		default:
			opts.BaseURL = fmt.Sprintf("https://%s.s3.%s.amazonaws.com", opts.Bucket, opts.Region)
		}
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.CacheControl == "" {
		opts.CacheControl = "public, max-age=31536000, immutable"
	}
	return &S3{client: client, presign: s3.NewPresignClient(client), opts: opts}, nil
}

// Put uploads the object with the store's Cache-Control (media keys are
// never reused, so by default objects are marked cacheable for good).
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	// The SDK signs the payload's SHA-256 (and over plain HTTP cannot
	// stream it unsigned), so it must read the body twice: a stream that
	// cannot seek is spooled to a temporary file first.
	if _, ok := r.(io.ReadSeeker); !ok {
		f, err := os.CreateTemp("", "frontdesk-s3-*")
		if err != nil {
			return fmt.Errorf("storage put %s: spool: %w", key, err)
		}
		defer os.Remove(f.Name()) //nolint:errcheck // temporary
		defer f.Close()           //nolint:errcheck // read only
		if size, err = io.Copy(f, r); err != nil {
			return fmt.Errorf("storage put %s: spool: %w", key, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("storage put %s: spool: %w", key, err)
		}
		r = f
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.opts.Bucket),
		Key:           aws.String(key),
		Body:          r,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
		CacheControl:  aws.String(s.opts.CacheControl),
	})
	if err != nil {
		return fmt.Errorf("storage put %s: %w", key, err)
	}
	return nil
}

// Get downloads the object.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		var nk *types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("storage get %s: %w", key, err)
	}
	return out.Body, nil
}

// Stat asks for the object's headers (HEAD).
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		// HEAD has no body, so a missing key comes back as NotFound, not
		// NoSuchKey.
		var nf *types.NotFound
		var nk *types.NoSuchKey
		if errors.As(err, &nf) || errors.As(err, &nk) {
			return Info{}, ErrNotFound
		}
		return Info{}, fmt.Errorf("storage stat %s: %w", key, err)
	}
	return Info{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("storage delete %s: %w", key, err)
	}
	return nil
}

// List returns the objects whose keys start with prefix, sorted by key
// (S3 lists in key order), following continuation tokens.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(s.opts.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("storage list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// URL returns the public URL of key.
func (s *S3) URL(key string) string { return s.opts.BaseURL + "/" + key }

// PresignPut returns a URL the client PUTs the bytes to, with the given
// Content-Type header, until ttl passes.
func (s *S3) PresignPut(ctx context.Context, key, contentType string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket:      aws.String(s.opts.Bucket),
		Key:         aws.String(key),
		ContentType: aws.String(contentType),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("storage presign %s: %w", key, err)
	}
	return req.URL, nil
}
