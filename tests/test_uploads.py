"""gan_core.data.uploads: pictures users upload, checked from the header and made model-sized."""
import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from gan_core.data import uploads
from gan_core.data.uploads import MAX_DECODED_BYTES, decoded_bytes, load_upload


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A small PNG that claims width x height pixels (what a decompression bomb's header says)."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def black_png_16bit(side: int) -> bytes:
    """A real, decodable 16-bit greyscale PNG of side x side black pixels (7000: about 95 KB,
    98 MB decoded), compressed a row at a time so the test never holds the pixels."""
    packer, row = zlib.compressobj(9), bytes(1 + 2 * side)  # filter byte 0, then 2 bytes a pixel
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0))
            + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))


def test_upload_is_cropped_resized_and_converted(tmp_path):
    wide = np.zeros((40, 80, 3), np.uint8)
    wide[:, 20:60] = (250, 10, 10)  # the red centre square survives the centre crop
    path = tmp_path / "wide.png"
    Image.fromarray(wide).save(path)
    out = load_upload(path, 32, 3)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert (out[:, :, 0] > 200).all() and (out[:, :, 1] < 40).all()
    assert load_upload(path, 32, 1).shape == (32, 32, 1)
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))  # fully transparent: flattened onto white
    assert (load_upload(encoded(rgba), 16, 3) == 255).all()
    sixteen = Image.fromarray(np.full((20, 20), 65535, np.uint16))
    assert (load_upload(encoded(sixteen), 16, 1) == 255).all()
    for mode in ("P", "L", "LA", "CMYK", "1"):
        fmt = "TIFF" if mode == "CMYK" else "PNG"
        assert load_upload(encoded(Image.new("RGB", (20, 20), (90, 120, 200)).convert(mode), fmt), 16).shape == (16, 16, 3)
    assert load_upload(wide, 32).shape == (32, 32, 3)  # an array, as gr.Image(type="numpy") gives
    assert out.flags.writeable  # torch warns on read-only arrays
    assert load_upload(Image.fromarray(wide), 32).shape == (32, 32, 3)


def test_bad_uploads_are_refused_clearly(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not a picture at all")
    cases = [
        (tmp_path / "missing.png", "^missing.png is no longer on the server"),  # its name, not the server's path
        (empty, "empty"),
        (text, "not an image"),
        (png_header_only(8000, 8000), r"64 megapixels\); the limit is 50"),  # a bomb, caught from its header
        (png_header_only(50000, 50000), "too many pixels|megapixels"),
        (encoded(Image.new("RGB", (300, 300)), "JPEG")[:300], "could not be decoded"),
        (encoded(Image.new("RGB", (8, 40))), "at least 16 pixels"),
        (np.zeros((32, 32, 2), np.uint8), "uint8"),
        (12, "expected an uploaded image"),
    ]
    for source, message in cases:
        with pytest.raises(ValueError, match=message):
            load_upload(source, 32)
    with pytest.raises(ValueError, match="MB; upload an image of at most"):
        load_upload(encoded(Image.new("RGB", (100, 100))), 32, max_bytes=100)
    frames = [Image.new("L", (20, 20), v) for v in (0, 255)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ValueError, match="animation"):
        load_upload(gif.getvalue(), 32)


def test_decoded_bytes_follow_pillows_storage():
    assert decoded_bytes("I;16", 7000, 7000) == 98_000_000
    assert decoded_bytes("L", 10, 10) == decoded_bytes("P", 10, 10) == decoded_bytes("1", 10, 10) == 100
    assert decoded_bytes("RGB", 10, 10) == decoded_bytes("RGBA", 10, 10) == decoded_bytes("F", 10, 10) == 400
    assert decoded_bytes("RGB", 4000, 4000) <= MAX_DECODED_BYTES  # the example the message gives


def test_a_small_file_that_decodes_huge_is_refused_from_its_header():
    bomb = black_png_16bit(7000)
    assert len(bomb) < 150_000
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"would take 98 MB of memory to decode .*at most 64 MB \(e\.g\. 4000x4000"):
        load_upload(bomb, 64)
    assert time.perf_counter() - start < 1.0  # nothing was decoded
    assert (load_upload(black_png_16bit(64), 16) == 0).all()  # the same kind of file, small, loads
    with pytest.raises(ValueError, match="could not be decoded"):  # 4000x4000 colour passes the budget
        load_upload(png_header_only(4000, 4000), 64)
    with pytest.raises(ValueError, match="of memory to decode"):
        load_upload(Image.new("RGB", (200, 200)), 16, max_decoded_bytes=100_000)


def test_a_large_jpeg_is_decoded_small():
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")  # a 12-megapixel phone photo
    photo = encoded(gradient, "JPEG", quality=80)
    budget = 2_000_000  # a PNG this size would need 48 MB; a JPEG decodes at 1/8 scale (500x375)
    out = load_upload(photo, 64, max_decoded_bytes=budget)
    assert out.shape == (64, 64, 3)
    column = out[:, 32, 0].astype(int)
    assert column[0] < 80 and column[-1] > 175 and (np.diff(column) >= -2).all()  # the gradient, top to bottom
    with pytest.raises(ValueError, match="of memory to decode"):
        load_upload(png_header_only(4000, 3000), 64, max_decoded_bytes=budget)


def test_shrinking_in_strips_matches_one_pass_and_keeps_orientation(monkeypatch):
    picture = np.zeros((128, 256, 3), np.uint8)
    picture[:64] = (250, 10, 10)   # top half red
    picture[64:] = (10, 10, 250)   # bottom half blue
    exif = Image.Exif()
    exif[0x0112] = 6               # "rotate 90 degrees clockwise to view"
    png = encoded(Image.fromarray(picture), exif=exif)
    whole = load_upload(png, 16)   # shrunk 8x: one strip
    monkeypatch.setattr(uploads, "STRIP_PIXELS", 1000)
    assert np.array_equal(load_upload(png, 16), whole)  # many strips, same answer
    assert (whole[:, :4, 2] > 200).all() and (whole[:, -4:, 0] > 200).all()  # upright: blue left, red right


@pytest.mark.parametrize("fmt, transparent", [("PNG", False), ("PNG", True), ("GIF", False)])
def test_large_palette_photos_are_read(fmt, transparent):
    picture = Image.new("RGB", (2000, 1700), (200, 40, 40))
    picture.paste((30, 60, 220), (1000, 0, 2000, 1700))
    palette = picture.convert("P", palette=Image.ADAPTIVE, colors=4)
    options = {"transparency": 0} if transparent else {}
    photo = uploads.load_photo(encoded(palette, fmt, **options), max_side=800)
    assert photo.shape == (680, 800, 3)
    assert np.abs(photo[340, 600].astype(int) - (30, 60, 220)).max() <= 2 or transparent
    assert np.abs(photo[340, 200].astype(int) - (200, 40, 40)).max() <= 2 or transparent
