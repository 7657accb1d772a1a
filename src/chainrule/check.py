def numerical_grad(): pass
def check_grads(): pass
