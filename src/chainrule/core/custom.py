def checkpoint(): pass
def custom_jvp(): pass
def custom_vjp(): pass
def stop_gradient(): pass
