"""The stylesheet and the icon of the tracking pages.

Both are small enough to live in code: ``@@tracking.css`` and
``favicon.ico`` (browsers ask every site for it) are views, cached by the
browser for a day.
"""

import struct
import zlib

from zope.publisher.browser import BrowserView

STYLESHEET = """\
body { font-family: system-ui, sans-serif; margin: 0; color: #222;
       background: #fafafa; line-height: 1.4; }
nav { background: #2d4f7c; padding: .5em 1.5em; }
nav a, nav span { color: #fff; margin-right: 1.2em; text-decoration: none; }
nav a:hover { text-decoration: underline; }
nav .user { float: right; margin-right: 0; }
nav .user a { margin: 0 0 0 .8em; }
main { padding: .5em 1.5em 2em; max-width: 75em; }
h1 { font-size: 1.5em; margin: .6em 0; }
table { border-collapse: collapse; background: #fff; margin: .5em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left;
         vertical-align: top; }
thead th { background: #eef2f7; }
code { font-size: .9em; word-break: break-all; }
form.filters { background: #fff; border: 1px solid #ddd; padding: .6em;
               margin: .5em 0; }
form.filters label { margin-right: .8em; white-space: nowrap; }
fieldset { border: 0; margin: .4em 0 0; padding: 0; }
legend { font-weight: bold; padding: 0; }
.error { color: #a00; }
.note { background: #fff6d6; border: 1px solid #e8d28a; padding: .4em .6em; }
.escaped { background: #fff6d6; }
.pages a, .downloads a { margin-right: 1em; }
.state-open { color: #b06d00; }
.state-finished { color: #2a7d48; }
.state-stopped { color: #666; }
.choice { display: block; margin: .4em 0; }
form.stop { margin-top: 1.5em; }
#feedback { margin-top: 2em; color: #555; }
figure { margin: 1em 0; }
"""


def _png(size, pixel):
    """A ``size`` x ``size`` RGBA PNG; ``pixel(x, y)`` gives (r, g, b, a)."""
    rows = b''.join(
        b'\0' + b''.join(bytes(pixel(x, y)) for x in range(size))
        for y in range(size))

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data)))

    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', size, size, 8, 6, 0,
                                         0, 0))
            + chunk(b'IDAT', zlib.compress(rows, 9))
            + chunk(b'IEND', b''))


def _icon():
    """A 16 x 16 icon: three bars of a chart on blue."""
    bars = {3: 9, 4: 9, 7: 5, 8: 5, 11: 7, 12: 7}

    def pixel(x, y):
        if x in bars and y >= bars[x] and y < 13:
            return (255, 255, 255, 255)
        return (45, 79, 124, 255)

    png = _png(16, pixel)
    # an ICO file holding one PNG image
    return (struct.pack('<HHH', 0, 1, 1)
            + struct.pack('<BBBBHHII', 16, 16, 0, 0, 1, 32, len(png), 22)
            + png)


ICON = _icon()


class Resource(BrowserView):
    """A body of its own type, cached by the browser for a day."""

    contentType = body = None

    def __call__(self):
        response = self.request.response
        response.setHeader('Content-Type', self.contentType)
        response.setHeader('Cache-Control', 'max-age=86400')
        return self.body


class Stylesheet(Resource):
    contentType = 'text/css; charset=utf-8'
    body = STYLESHEET


class Icon(Resource):
    contentType = 'image/x-icon'
    body = ICON
