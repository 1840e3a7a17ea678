import OutreachCore
import ArgumentParser
print("hi")
