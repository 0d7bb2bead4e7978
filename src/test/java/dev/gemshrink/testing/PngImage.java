package dev.gemshrink.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A decoded PNG of 8-bit RGB or RGBA pixels, non-interlaced (what a browser's screenshot is), for tests that look at
 * a picture. Java's image codecs live in {@code java.desktop}, which the library's module does not read; this needs
 * only {@code java.util.zip}.
 */
public final class PngImage {
    private final int width;
    private final int height;
    private final int channels;
    private final byte[] pixels;

    private PngImage(int width, int height, int channels, byte[] pixels) {
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.pixels = pixels;
    }

    /**
     * Decodes a PNG file's bytes.
     *
     * @param png the file
     * @return the image
     * @throws IllegalArgumentException when it is not an 8-bit RGB(A), non-interlaced PNG
     */
    public static PngImage decode(byte[] png) {
        ByteBuffer b = ByteBuffer.wrap(png);
        if (b.getLong() != 0x89504E470D0A1A0AL) {
            throw new IllegalArgumentException("not a PNG");
        }
        int width = 0;
        int height = 0;
        int channels = 0;
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        while (b.remaining() >= 12) {
            int len = b.getInt();
            String type = new String(png, b.position(), 4, StandardCharsets.US_ASCII);
            b.position(b.position() + 4);
            if (type.equals("IHDR")) {
                width = b.getInt(b.position());
                height = b.getInt(b.position() + 4);
                int depth = png[b.position() + 8];
                int color = png[b.position() + 9];
                int interlace = png[b.position() + 12];
                if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
                    throw new IllegalArgumentException("unsupported PNG: depth " + depth + ", color " + color);
                }
                channels = color == 6 ? 4 : 3;
            } else if (type.equals("IDAT")) {
                idat.write(png, b.position(), len);
            }
            b.position(b.position() + len + 4);
        }
        return new PngImage(width, height, channels, unfilter(inflate(idat.toByteArray()), width, height, channels));
    }

    private static byte[] inflate(byte[] data) {
        Inflater inf = new Inflater();
        inf.setInput(data);
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length * 4);
        byte[] buf = new byte[64 * 1024];
        try {
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                out.write(buf, 0, n);
            }
        } catch (DataFormatException e) {
            throw new IllegalArgumentException("bad PNG data", e);
        } finally {
            inf.end();
        }
        return out.toByteArray();
    }

    private static byte[] unfilter(byte[] raw, int width, int height, int bpp) {
        int stride = width * bpp;
        byte[] out = new byte[stride * height];
        for (int y = 0; y < height; y++) {
            int filter = raw[y * (stride + 1)];
            int in = y * (stride + 1) + 1;
            int row = y * stride;
            for (int x = 0; x < stride; x++) {
                int a = x >= bpp ? out[row + x - bpp] & 0xff : 0;
                int up = y > 0 ? out[row - stride + x] & 0xff : 0;
                int c = x >= bpp && y > 0 ? out[row - stride + x - bpp] & 0xff : 0;
                int v = raw[in + x] & 0xff;
                switch (filter) {
                    case 0:
                        break;
                    case 1:
                        v += a;
                        break;
                    case 2:
                        v += up;
                        break;
                    case 3:
                        v += (a + up) >>> 1;
                        break;
                    case 4:
                        int p = a + up - c;
                        int pa = Math.abs(p - a);
                        int pb = Math.abs(p - up);
                        int pc = Math.abs(p - c);
                        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
                        break;
                    default:
                        throw new IllegalArgumentException("bad PNG filter " + filter);
                }
                out[row + x] = (byte) v;
            }
        }
        return out;
    }

    /**
     * Returns the width.
     *
     * @return pixels
     */
    public int width() {
        return width;
    }

    /**
     * Returns the height.
     *
     * @return pixels
     */
    public int height() {
        return height;
    }

    /**
     * Returns a pixel's colour.
     *
     * @param x column
     * @param y row
     * @return 0xRRGGBB
     */
    public int rgb(int x, int y) {
        int i = (y * width + x) * channels;
        return (pixels[i] & 0xff) << 16 | (pixels[i + 1] & 0xff) << 8 | pixels[i + 2] & 0xff;
    }

    /**
     * Counts the pixels of one colour.
     *
     * @param rgb 0xRRGGBB
     * @return how many pixels have it
     */
    public long count(int rgb) {
        long n = 0;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                if (rgb(x, y) == rgb) {
                    n++;
                }
            }
        }
        return n;
    }
}
