"""A stand-in notification server for the end-to-end tests: owns
org.freedesktop.Notifications on the session bus, answers GetCapabilities and
GetServerInformation, and prints each Notify call as one JSON line (summary, body,
actions). Prints {"ready": true} once the name is owned. Ends when its input closes.

A line "focus" on its input opens a small window of its own and gives it the keyboard
focus, so that the app's window is in the back (a bare X server has no window manager to
do that).
"""
import json
import sys
import threading

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.next_id = 0

    @dbus.service.method(NAME, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return ["body", "body-markup", "actions"]

    @dbus.service.method(NAME, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("stand-in", "huddle-tests", "1", "1.2")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        self.next_id += 1
        print(json.dumps({"summary": str(summary), "body": str(body),
                          "actions": [str(a) for a in actions]}), flush=True)
        return self.next_id

    @dbus.service.method(NAME, in_signature="u", out_signature="")
    def CloseNotification(self, id):
        pass


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    server = Server(bus)
    loop = GLib.MainLoop()

    def take_focus():
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk

        window = Gtk.Window(title="Somewhere else")
        window.set_default_size(200, 100)
        window.show_all()
        window.present()
        window.get_window().focus(0)
        windows.append(window)
        print(json.dumps({"focused": True}), flush=True)
        return False

    windows = []

    def read_input():
        for line in sys.stdin:
            if line.strip() == "focus":
                GLib.idle_add(take_focus)
        GLib.idle_add(loop.quit)

    threading.Thread(target=read_input, daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
    loop.run()
    del name, server


if __name__ == "__main__":
    main()
