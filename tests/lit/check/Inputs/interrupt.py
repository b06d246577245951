"""interrupt.py SIG CMD...: runs CMD, waits until it has printed its first
line (psyncc check/simulate print one before they start exploring), then a
little more, sends it SIG (INT or TERM), and prints CMD's output followed by
"status=N". Used by honest_verdicts.test."""
import signal
import subprocess
import sys
import threading
import time

sig = getattr(signal, "SIG" + sys.argv[1])
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, text=True)
watchdog = threading.Timer(120, proc.kill)  # never hang the suite
watchdog.start()
first = proc.stdout.readline()
time.sleep(0.5)
proc.send_signal(sig)
rest = proc.stdout.read()
status = proc.wait()
watchdog.cancel()
sys.stdout.write(first + rest)
print(f"status={status}")
