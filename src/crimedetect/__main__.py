from crimedetect.cli import run

run()
