// Package processor turns images into the model inputs of Grounding DINO
// and SAM, matching the Hugging Face image processors: decoding (JPEG with
// its EXIF orientation, PNG, GIF, and BMP/TIFF/WebP through x/image),
// conversion to 8-bit RGB, Pillow's bilinear resampling reproduced exactly
// (antialiasing triangle filter, 22-bit fixed-point coefficients, uint8
// intermediate), rescaling, mean/std normalisation and zero padding.
package processor
