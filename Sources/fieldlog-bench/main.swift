import OutreachCore
import GRDB
print("bench")
