print("swnet")
