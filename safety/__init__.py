"""The risk screen: runs on user input before any reply, and on generated replies."""
