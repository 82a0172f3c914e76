package graph

import (
	"frontdesk/catalog"
	"frontdesk/ent"
	"frontdesk/graph/model"
)

func imagePayload(img *ent.ProductImage, err error) (*model.ProductImagePayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	return &model.ProductImagePayload{Image: img, UserErrors: ue}, nil
}

func imageUploadPayload(u *catalog.DirectUpload, err error) (*model.ProductImageUploadPayload, error) {
	ue, err := userErrors(err)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return &model.ProductImageUploadPayload{UserErrors: ue}, nil
	}
	return &model.ProductImageUploadPayload{UserErrors: ue, Upload: &model.ProductImageUpload{
		URL: u.URL, Method: "PUT", ContentType: u.ContentType, Key: u.Key, ExpiresAt: u.ExpiresAt,
	}}, nil
}
