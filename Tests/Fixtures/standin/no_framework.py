print("this program uses neither mmcv nor mmengine")
