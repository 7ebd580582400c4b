#!/usr/bin/env python3
"""Opens a bundle's data/index.html (unpacked) in headless Chromium and checks the files it shows.

Usage: scripts/page-media-test.py BUNDLE_DIR EXPECTED_AUDIO

Every <audio> and <video> element must load its file's metadata (a duration above zero, no error), every
<img> must decode, and every link into files/ must name a file that is there. EXPECTED_AUDIO is how many audio
players the page must hold. The last line on stdout is `page-media-test: OK (<audio> audio, <links> links)`.
"""
import os
import sys
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main():
    bundle, expected = os.path.abspath(sys.argv[1]), int(sys.argv[2])
    page = os.path.join(bundle, "data", "index.html")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_script_timeout(20)
        driver.get("file://" + urllib.parse.quote(page))
        players = driver.find_elements(By.CSS_SELECTOR, "audio, video")
        audio = len(driver.find_elements(By.TAG_NAME, "audio"))
        if audio != expected:
            sys.exit(f"page-media-test: {audio} audio players, {expected} expected")
        for index in range(len(players)):
            outcome = driver.execute_async_script(
                """
                const done = arguments[arguments.length - 1];
                const player = document.querySelectorAll('audio, video')[arguments[0]];
                player.addEventListener('loadedmetadata', () => done('duration ' + player.duration));
                player.addEventListener('error', () => done('error ' + (player.error && player.error.code)));
                player.load();
                """, index)
            if not outcome.startswith("duration ") or not float(outcome.split()[1]) > 0:
                sys.exit(f"page-media-test: player {index} ({players[index].get_attribute('src')}): {outcome}")
        for image in driver.find_elements(By.TAG_NAME, "img"):
            if not driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image):
                sys.exit(f"page-media-test: an image did not decode: {image.get_attribute('src')}")
        links = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
        files = [link for link in links if "/data/files/" in link]
        for link in files:
            path = urllib.parse.unquote(urllib.parse.urlparse(link).path)
            if not os.path.isfile(path):
                sys.exit(f"page-media-test: a link names no file: {link}")
        print(f"page-media-test: OK ({audio} audio, {len(files)} links)")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
