#!/usr/bin/python3
"""Drives the `img2img serve` page in headless Chromium: uploads an image, waits until its
translation appears, and saves a screenshot (phone-sized window by default).

    tools/serve_page.py [--bin DIR] [--image FILE] [--out docs/serve-page.png] [--width 420 --height 900]

Needs Debian's chromium, chromium-driver and python3-selenium (apt-get install -y ...); starts
its own server on a free loopback port (the bundled model) and stops it. Exits non-zero when the
translation does not appear. A developer tool: the test suite does not use it.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release"), help="folder with img2img-serve")
    ap.add_argument("--image", default=os.path.join(ROOT, "datasets/samples/earth-night/r1c6.jpg"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/serve-page.png"))
    ap.add_argument("--width", type=int, default=420)
    ap.add_argument("--height", type=int, default=900)
    a = ap.parse_args()

    server = subprocess.Popen([os.path.join(a.bin, "img2img-serve"), "--port", "0"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            sys.exit(f"server did not start: {line!r}")
        url = f"http://127.0.0.1:{m.group(1)}/"

        opts = webdriver.ChromeOptions()
        opts.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    f"--window-size={a.width},{a.height}"):
            opts.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            driver.get(url)
            wait = WebDriverWait(driver, 60)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
            info = driver.find_element(By.ID, "info").text
            print("model info:", info)
            files = driver.find_element(By.ID, "files")
            driver.execute_script("arguments[0].hidden = false;", files)
            t0 = time.time()
            files.send_keys(os.path.abspath(a.image))
            wait.until(lambda d: d.execute_script(
                "const i = document.querySelector('img.result'); return i && i.complete && i.naturalWidth > 0;"))
            print(f"translation shown after {time.time() - t0:.2f} s")
            print("caption:", driver.find_element(By.CSS_SELECTOR, ".row .cap:last-child").text)
            driver.execute_script("arguments[0].hidden = true;", files)
            os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
            driver.save_screenshot(a.out)
            print("screenshot:", a.out)
        finally:
            driver.quit()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
