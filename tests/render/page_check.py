#!/usr/bin/python3
"""Checks of a report page rendered by headless Chromium (tests/render/report_chromium.sh).

page_check.py probe PAGE OUT        copy PAGE to OUT with a script that, after load, lists every
                                    chart's box (page coordinates) and the page height in <pre id=probe>
page_check.py dom DUMP              the DOM after load: the page's script ran (data-loaded), no error
                                    reached it (data-js-errors); prints the probe JSON on stdout
page_check.py blank PNG PROBE_JSON  every chart's region of the screenshot has content: enough pixels
                                    that differ from the page background, in more than one colour
page_check.py sections DUMP         every scenario section holds at least one chart
page_check.py dark PNG              the page background is dark (prefers-color-scheme: dark)"""
import html
import json
import re
import sys

PROBE = """<script>addEventListener('load',function(){var r=[];document.querySelectorAll('svg.chart')
.forEach(function(s){var b=s.getBoundingClientRect();r.push([Math.round(b.left+scrollX),Math.round(b.top+scrollY),
Math.round(b.width),Math.round(b.height)])});var p=document.createElement('pre');p.id='probe';
p.textContent=JSON.stringify({height:document.documentElement.scrollHeight,charts:r});document.body.appendChild(p)})</script>"""


def probe(page, out):
    text = open(page, encoding="utf-8").read()
    open(out, "w", encoding="utf-8").write(text.replace("</body>", PROBE + "</body>"))


def dom(dump):
    d = open(dump, encoding="utf-8", errors="replace").read()
    head = d[:2000]
    if 'data-loaded="1"' not in head:
        sys.exit("the page's script did not run to its end (no data-loaded on <html>)")
    m = re.search(r'data-js-errors="(\d+)"', head)
    if m:
        err = re.search(r'<div id="sb-err"[^>]*>(.*?)</div>', d, re.S)
        sys.exit("%s script error(s): %s" % (m.group(1), html.unescape(err.group(1)) if err else "?"))
    m = re.search(r'<pre id="probe">(.*?)</pre>', d, re.S)
    if m:
        print(html.unescape(m.group(1)))


def blank(png, probe_json):
    from PIL import Image
    im = Image.open(png).convert("RGB")
    info = json.loads(open(probe_json).read())
    bg = im.getpixel((2, 2))
    bad = 0
    for i, (x, y, w, h) in enumerate(info["charts"]):
        if w < 10 or h < 10 or x + w > im.width or y + h > im.height:
            print("chart %d at %s is outside the screenshot %s" % (i, (x, y, w, h), im.size))
            bad += 1
            continue
        region = im.crop((x, y, x + w, y + h))
        px = list(region.getdata())
        ink = [p for p in px if sum(abs(a - b) for a, b in zip(p, bg)) > 60]
        colours = len(set((p[0] // 32, p[1] // 32, p[2] // 32) for p in ink))
        if len(ink) < 0.01 * len(px) or colours < 2:
            print("chart %d at %s is blank: %d of %d pixels drawn, %d colours" % (i, (x, y, w, h), len(ink), len(px), colours))
            bad += 1
    if not info["charts"]:
        sys.exit("no chart on the page")
    if bad:
        sys.exit("%d of %d charts without content" % (bad, len(info["charts"])))
    print("%d charts, all with content" % len(info["charts"]))


def sections(dump):
    d = open(dump, encoding="utf-8", errors="replace").read()
    secs = re.findall(r'<section>(.*?)</section>', d, re.S)
    empty = [re.search(r'<h2[^>]*>(.*?)</h2>', s).group(1) for s in secs if '<svg class="chart"' not in s]
    if not secs or empty:
        sys.exit("sections without a chart: %s (of %d)" % (empty, len(secs)))
    print("%d sections, each with a chart" % len(secs))


def dark(png):
    from PIL import Image
    p = Image.open(png).convert("RGB").getpixel((2, 2))
    if sum(p) / 3 > 80:
        sys.exit("background %s is not dark" % (p,))


cmd = sys.argv[1]
{"probe": lambda: probe(sys.argv[2], sys.argv[3]), "dom": lambda: dom(sys.argv[2]),
 "blank": lambda: blank(sys.argv[2], sys.argv[3]), "sections": lambda: sections(sys.argv[2]),
 "dark": lambda: dark(sys.argv[2])}[cmd]()
